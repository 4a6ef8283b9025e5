import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advance } from '../../functions/orchestrator/master.js';
import { startRun } from '../../functions/orchestrator/run-start.js';
import type { TaskItem } from '../../functions/store/items.js';
import { getRun } from '../../functions/store/runs.js';
import { getTask } from '../../functions/store/tasks.js';
import { type Harness, startHarness } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * No master runs here (no stream poller): the test is the master, and delivers every upstream event
 * three times at once, as duplicate stream deliveries and racing masters would.
 */
describe('join decisions under duplicate delivery and racing masters', { timeout: 120_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, { roles: { master: false, worker: true, sweeper: false } });
  });
  afterAll(() => h.stop());

  it('each successor is decided once, and each dependency lands in one outcome set', async () => {
    const { db } = h.runtime.deps;
    const put = await h.request('PUT', '/workflows/racing', {
      name: 'racing',
      failureStrategy: 'continue',
      tasks: {
        a: { type: 'noop', output: 1 },
        b: { type: 'fail', retryable: false },
        join: { type: 'noop', after: ['a', 'b'], trigger: 'all_done' },
        notify: { type: 'noop', after: ['a', 'b'], trigger: 'one_failed', when: `tasks.b.status = 'failed'` },
        strict: { type: 'noop', after: ['a', 'b'] },
      },
    });
    expect(put.status).toBe(201);
    const runId = (await h.request('POST', '/workflows/racing/runs', {})).body.runId as string;
    await Promise.all([startRun(h.runtime.deps, runId), startRun(h.runtime.deps, runId)]);
    const [a, b] = await until('a and b to end', async () => {
      const ts = await Promise.all([getTask(db, runId, 'a'), getTask(db, runId, 'b')]);
      return ts.every((t) => t && ['succeeded', 'failed'].includes(t.status)) ? (ts as [TaskItem, TaskItem]) : undefined;
    });
    const deliver = () => Promise.all([a, b, a, b, a, b].map((t) => advance(h.runtime.deps, t)));
    await deliver();
    const [join, notify] = await until('join and notify to end', async () => {
      const ts = await Promise.all([getTask(db, runId, 'join'), getTask(db, runId, 'notify')]);
      return ts.every((t) => t?.status === 'succeeded') ? (ts as [TaskItem, TaskItem]) : undefined;
    });
    const strict = await getTask(db, runId, 'strict');
    expect(strict).toMatchObject({ status: 'skipped', error: { reason: 'upstream' }, upstreamFailed: true });
    for (const t of [join, notify, strict as TaskItem]) {
      expect([...(t.okDeps ?? [])]).toEqual(['a']);
      expect([...(t.failedDeps ?? [])]).toEqual(['b']);
      expect(t.skippedDeps).toBeUndefined();
    }
    expect(join.attempts?.map((x) => x.status)).toEqual(['succeeded']);
    expect(notify.attempts?.map((x) => x.status)).toEqual(['succeeded']);

    // A late duplicate after the decision changes nothing.
    await deliver();
    expect((await getTask(db, runId, 'join'))?.attempts).toHaveLength(1);
    expect(await getTask(db, runId, 'strict')).toEqual(strict);
    // The sinks' own events finish the run.
    await Promise.all([join, notify, strict as TaskItem].map((t) => advance(h.runtime.deps, t)));
    const run = await until('the run to end', async () => {
      const r = await getRun(db, runId);
      return r && ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    });
    expect(run).toMatchObject({ status: 'failed', failure: { task: 'b', reason: 'fail' } });
  });
});
