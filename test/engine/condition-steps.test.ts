import { describe, expect, it } from 'vitest';
import { evaluateCondition } from '../../functions/engine/flow/condition.js';

/**
 * How a `when` condition's bounds count its steps: depth is nesting (a step's depth is given back when it
 * ends), and the clock is read when a step starts and again when it ends. The clock is the test's own.
 */
const scope = { params: {}, tasks: {}, run: { id: 'r', workflow: 'w' } };
const limits = { timeoutMs: 1000, maxSize: 100, maxDepth: 2 };

describe('when: how the bounds count steps', () => {
  it('depth is nesting, not length: fifty statements in one block stay within a depth of 2', async () => {
    const block = `(${Array.from({ length: 50 }, (_, i) => `${i}`).join('; ')}; true)`;
    expect(await evaluateCondition(block, scope, limits)).toEqual({ ok: true, value: true });
    expect(await evaluateCondition(block, scope, { ...limits, maxDepth: 1 })).toEqual({
      ok: false,
      message: 'expression nested deeper than 1 steps',
    });
  });

  it('a single step is within a depth of 1', async () => {
    expect(await evaluateCondition('true', scope, { ...limits, maxDepth: 1 })).toEqual({ ok: true, value: true });
  });

  it('past the deadline, the next step to start stops the evaluation before it can nest deeper', async () => {
    let reads = 0;
    const clock = () => (++reads > 1 ? 1 : 0);
    const nested = `${'('.repeat(30)}true${')'.repeat(30)}`;
    expect(await evaluateCondition(nested, scope, { timeoutMs: 0, maxSize: 100, maxDepth: 10 }, clock)).toEqual({
      ok: false,
      message: 'expression took longer than 0 ms',
    });
  });

  it('the clock is read again when a step ends: a deadline passed during the last step is an error', async () => {
    // `true` is one step: the clock is read for the deadline, when the step starts, and when it ends.
    let reads = 0;
    const clock = () => (++reads >= 3 ? 1 : 0);
    expect(await evaluateCondition('true', scope, { ...limits, timeoutMs: 0 }, clock)).toEqual({
      ok: false,
      message: 'expression took longer than 0 ms',
    });
    expect(reads).toBe(3);
  });
});
