import { describe, expect, it } from 'vitest';
import { checkExpression, evaluateCondition, MAX_EXPRESSION_CHARS } from '../../functions/engine/flow/condition.js';

/**
 * The bounds of a `when` condition, exactly where they are documented: the expression's length, the
 * size of every intermediate value, the evaluation's depth and time (on a clock the test drives, never
 * the wall clock), and the messages a user reads when one is crossed.
 */

const scope = { params: { s: 'abcde' }, tasks: {}, run: { id: 'r', workflow: 'w' } };
const limits = { timeoutMs: 1000, maxSize: 5, maxDepth: 100 };

describe('when: bounds at their edge', () => {
  it(`an expression of ${MAX_EXPRESSION_CHARS} characters is accepted, one more is not`, () => {
    const of = (n: number) => `'${'x'.repeat(n - 8)}' = 'x'`; // n characters
    expect(of(MAX_EXPRESSION_CHARS)).toHaveLength(MAX_EXPRESSION_CHARS);
    expect(checkExpression(of(MAX_EXPRESSION_CHARS))).toBeUndefined();
    expect(checkExpression(of(MAX_EXPRESSION_CHARS + 1))).toBe(
      `expression too long: ${MAX_EXPRESSION_CHARS + 1} characters (at most ${MAX_EXPRESSION_CHARS})`,
    );
  });

  it('an intermediate array or string of maxSize elements is fine, one more is an error naming both sizes', async () => {
    expect(await evaluateCondition('$count([1..5]) = 5', scope, limits)).toEqual({ ok: true, value: true });
    expect(await evaluateCondition('$count([1..6]) = 6', scope, limits)).toEqual({
      ok: false,
      message: 'expression built a value of 6 elements (at most 5)',
    });
    expect(await evaluateCondition(`$length(params.s) = 5`, scope, limits)).toEqual({ ok: true, value: true });
    expect(await evaluateCondition(`$length(params.s & 'f') = 6`, scope, limits)).toEqual({
      ok: false,
      message: 'expression built a value of 6 elements (at most 5)',
    });
  });

  it('the time bound is crossed only once the clock passes the deadline', async () => {
    const frozen = () => 1_000;
    expect(await evaluateCondition('$count([1..5]) = 5', scope, { ...limits, timeoutMs: 0 }, frozen)).toEqual({ ok: true, value: true });
    let t = 0;
    const late = () => (t++ === 0 ? 0 : 1); // the deadline is 0: the first check after the start is past it
    expect(await evaluateCondition('$count([1..5]) = 5', scope, { ...limits, timeoutMs: 0 }, late)).toEqual({
      ok: false,
      message: 'expression took longer than 0 ms',
    });
  });

  it('the depth bound counts nested steps: a shallow expression passes a bound a deep one breaks', async () => {
    const nested = (n: number) => `${'('.repeat(n)}true${')'.repeat(n)}`;
    expect(await evaluateCondition(nested(1), scope, { ...limits, maxDepth: 10 })).toEqual({ ok: true, value: true });
    expect(await evaluateCondition(nested(30), scope, { ...limits, maxDepth: 10 })).toEqual({
      ok: false,
      message: 'expression nested deeper than 10 steps',
    });
  });

  it('a value that is not a boolean is shown, cut after 80 characters', async () => {
    const at = async (n: number) => evaluateCondition(`'${'v'.repeat(n - 2)}'`, scope, { ...limits, maxSize: 1000 });
    expect(await at(80)).toEqual({ ok: false, message: `expression must yield true or false, got "${'v'.repeat(78)}"` });
    expect(await at(81)).toEqual({ ok: false, message: `expression must yield true or false, got "${'v'.repeat(79)}…` });
    expect(await evaluateCondition('1', scope, limits)).toEqual({ ok: false, message: 'expression must yield true or false, got 1' });
  });

  it('a syntax error names its JSONata code and the character it is at', () => {
    expect(checkExpression('params.s = ')).toMatch(/^S0\d{3}: .+ at character \d+$/);
    expect(checkExpression('(')).toMatch(/ at character 1$/);
  });
});
