import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRun } from '../../functions/store/runs.js';
import { type Harness, startHarness } from '../support/harness.js';

// The lambda executor reads the map when a task first runs: set it before anything runs.
process.env.BATON_LAMBDA_MAP = fileURLToPath(new URL('./fixtures/lambda-map.json', import.meta.url));
delete process.env.BATON_API_URL;

/**
 * Issue 10, items 1 and 2, through paths that stay open once the API refuses bad input: executor
 * outputs. Data DynamoDB refuses fails its own task (with the real reason, at once, not `timeout`),
 * and outputs too large for the run item stay on their task items; the engine goes on either way.
 */
describe('data the table cannot store', { timeout: 300_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    // A long timeout: a task left running would end as `timeout` only after the test gave up.
    h = await startHarness();
    await put('healthy', { a: { type: 'noop', output: { ok: true } }, b: { type: 'noop', after: ['a'], output: '${tasks.a.output}' } });
  });
  afterAll(() => h?.stop());

  async function put(name: string, tasks: Record<string, unknown>) {
    const r = await h.request('PUT', `/workflows/${name}`, { name, tasks });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  }
  async function start(name: string) {
    const r = await h.request('POST', `/workflows/${name}/runs`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.runId as string;
  }
  /** A run of another workflow, started right after: it must succeed while the bad one is handled. */
  async function healthyAlongside(bad: string) {
    const ok = await start('healthy');
    const [b, o] = await Promise.all([h.waitForRun(bad, 150_000), h.waitForRun(ok, 150_000)]);
    expect(o.status).toBe('succeeded');
    expect(o.output).toEqual({ b: { ok: true } });
    return b;
  }
  const task = (run: any, name: string) => run.tasks.find((t: any) => t.name === name);

  const hour = '1h';
  for (const [label, fn, detail] of [
    ['nested 40 deep', 'deep', /nest/i],
    ['with a __proto__ key', 'proto', /empty|attribute/i],
  ] as const) {
    it(`a sync lambda returning an object ${label} fails its task with output_unstorable, not timeout`, async () => {
      await put(`lam-${fn}`, {
        a: { type: 'lambda', function: fn, payload: { depth: 40 }, timeout: hour },
        after: { type: 'noop', after: ['a'] },
      });
      const run = await healthyAlongside(await start(`lam-${fn}`));
      expect(run.status).toBe('failed');
      expect(task(run, 'a').status).toBe('failed');
      expect(task(run, 'a').error.reason).toBe('output_unstorable');
      expect(task(run, 'a').error.message).toMatch(detail);
      expect(task(run, 'a').attempts).toHaveLength(1);
      expect(task(run, 'after').status).toBe('skipped');
      expect(run.failure).toMatchObject({ task: 'a', reason: 'output_unstorable' });
    });
  }

  it('three sink outputs of 150 KiB each (450 KiB together): the run succeeds, its output stays on the task items', async () => {
    const blob = (kb: number) => ({ type: 'lambda', function: 'blob', payload: { kb } });
    await put('three-blobs', { a: blob(150), b: blob(150), c: blob(150) });
    const runId = await start('three-blobs');
    const run = await healthyAlongside(runId);
    expect(run.status).toBe('succeeded');
    expect(Object.keys(run.output).sort()).toEqual(['a', 'b', 'c']);
    for (const s of ['a', 'b', 'c']) expect(run.output[s]).toBe('x'.repeat(150 * 1024));
    const item = await getRun(h.runtime.deps.db, runId);
    expect(item?.output).toBeUndefined();
    expect([...(item?.outputFrom ?? [])].sort()).toEqual(['a', 'b', 'c']);
  });

  it('a small collected output is still copied onto the run item', async () => {
    const runId = await start('healthy');
    expect((await h.waitForRun(runId, 60_000)).status).toBe('succeeded');
    const item = await getRun(h.runtime.deps.db, runId);
    expect(item?.output).toEqual({ b: { ok: true } });
    expect(item?.outputFrom).toBeUndefined();
  });

  it('an output that fits its task item but is one level too deep for the run item: referenced, the run succeeds', async () => {
    // The run item holds a sink's output one level deeper (under the sink's name) than its task item:
    // 30 levels fit a task item, and are one too many for the run item.
    await put('deep-sink', { d: { type: 'lambda', function: 'deep', payload: { depth: 30 } } });
    const runId = await start('deep-sink');
    const run = await healthyAlongside(runId);
    expect(run.status, JSON.stringify(run.failure)).toBe('succeeded');
    let v = run.output.d;
    for (let i = 0; i < 30; i++) v = v.d;
    expect(v).toEqual({ leaf: true });
    const item = await getRun(h.runtime.deps.db, runId);
    expect(item?.output).toBeUndefined();
    expect(item?.outputFrom).toEqual(['d']);
  });
});
