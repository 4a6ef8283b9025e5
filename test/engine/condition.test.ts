import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../functions/engine/definition/index.js';
import { checkExpression, evaluateCondition, MAX_EXPRESSION_CHARS } from '../../functions/engine/flow/condition.js';
import { executors } from './fixtures.js';

const scope = {
  params: { region: 'eu', limit: 3 },
  tasks: {
    check: { status: 'succeeded', output: { kind: 'csv', rows: [1, 2, 3] } },
    other: { status: 'failed' },
  },
  run: { id: 'r-1', workflow: 'wf' },
};
const limits = { timeoutMs: 200, maxSize: 1000, maxDepth: 100 };

describe('when: JSONata conditions', () => {
  it('reads params, upstream status and output, and the run', async () => {
    expect(await evaluateCondition(`tasks.check.output.kind = 'csv'`, scope)).toEqual({ ok: true, value: true });
    expect(await evaluateCondition(`params.region = 'us'`, scope)).toEqual({ ok: true, value: false });
    expect(await evaluateCondition(`$count(tasks.check.output.rows) = params.limit`, scope)).toEqual({ ok: true, value: true });
    expect(await evaluateCondition(`tasks.other.status = 'failed' and run.workflow = 'wf'`, scope)).toEqual({ ok: true, value: true });
  });

  it('a path that matches nothing is false', async () => {
    expect(await evaluateCondition('tasks.missing.output.flag', scope)).toEqual({ ok: true, value: false });
  });

  it('a value that is not a boolean is an error, not a truthiness guess', async () => {
    const r = await evaluateCondition('tasks.check.output.kind', scope);
    expect(r).toEqual({ ok: false, message: expect.stringContaining('true or false, got "csv"') });
  });

  it('a runtime error is reported with its JSONata code', async () => {
    const r = await evaluateCondition(`$number('abc') > 1`, scope);
    expect(r.ok).toBe(false);
    const t = await evaluateCondition(`params.region + 1 > 0`, scope);
    expect(t).toEqual({ ok: false, message: expect.stringMatching(/^T2001/) });
  });

  it('a syntax error is reported with its position', async () => {
    expect(checkExpression('tasks.check.output.kind = ')).toMatch(/character/);
    expect(checkExpression(`params.region = 'eu'`)).toBeUndefined();
  });

  it('time and depth bounds: an endless loop stops on time, an endless recursion on depth', async () => {
    const loop = '($f := function($n) { $f($n + 1) }; $f(0))';
    const r = await evaluateCondition(loop, scope, { ...limits, maxDepth: 1_000_000 });
    expect(r).toEqual({ ok: false, message: expect.stringContaining('longer than 200 ms') });
    const deep = '($f := function($n) { 1 + $f($n + 1) }; $f(0))'; // not a tail call: the stack grows
    const d = await evaluateCondition(deep, scope, limits);
    expect(d).toEqual({ ok: false, message: expect.stringContaining('deeper than 100') });
  });

  it('time bound: a long loop over a large range stops', async () => {
    let t = 0;
    const clock = () => (t += 10); // every check advances 10 ms: the bound trips after ~20 steps
    const r = await evaluateCondition('$count([1..500].($ * 2)) > 0', scope, { ...limits, maxSize: 10_000 }, clock);
    expect(r).toEqual({ ok: false, message: expect.stringContaining('longer than 200 ms') });
  });

  it('size bound: an intermediate value larger than the bound is an error', async () => {
    const r = await evaluateCondition('$count([1..5000]) > 0', scope, limits);
    expect(r).toEqual({ ok: false, message: expect.stringContaining('at most 1000') });
    const s = await evaluateCondition(`$length($pad('', 2000, 'x')) > 0`, scope, limits);
    expect(s).toEqual({ ok: false, message: expect.stringContaining('at most 1000') });
    expect(await evaluateCondition('$count([1..500]) > 0', scope, limits)).toEqual({ ok: true, value: true });
  });

  it('size bound on the expression itself', async () => {
    const long = `params.region = '${'x'.repeat(MAX_EXPRESSION_CHARS)}'`;
    expect(checkExpression(long)).toMatch(/too long/);
    expect((await evaluateCondition(long, scope)).ok).toBe(false);
  });
});

describe('when and trigger: validation at PUT', () => {
  const parse = (tasks: Record<string, unknown>) => parseDefinition({ name: 'wf', tasks }, { executors });

  it('reports every bad expression and rule with its path', () => {
    const r = parse({
      a: { type: 'noop' },
      b: { type: 'noop', after: 'a', when: 'tasks.a.output = ' },
      c: { type: 'noop', after: 'a', when: 42, trigger: 'one_success' },
      d: { type: 'noop', after: 'a', when: '  ' },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toEqual(['tasks.b.when', 'tasks.c.when', 'tasks.c.trigger', 'tasks.d.when']);
    expect(r.errors[2]?.message).toContain('all_succeeded, all_done, one_succeeded, all_failed, one_failed, none_failed');
  });

  it('keeps when and trigger out of the config, and stores the default rule as absent', () => {
    const r = parse({
      a: { type: 'noop' },
      b: { type: 'noop', after: 'a', when: `tasks.a.status = 'succeeded'`, trigger: 'all_done' },
      c: { type: 'noop', after: 'a', trigger: 'all_succeeded' },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.tasks.b).toMatchObject({ when: `tasks.a.status = 'succeeded'`, trigger: 'all_done', config: {} });
    expect(r.value.tasks.c?.trigger).toBeUndefined();
  });
});
