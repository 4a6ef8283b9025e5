import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../functions/orchestrator/deps.js';
import { getRun } from '../../functions/store/runs.js';
import { getTask } from '../../functions/store/tasks.js';
import type { Executor } from '../../functions/tasks/executor.js';
import { noop } from '../../functions/tasks/noop.js';
import { executors } from '../../functions/tasks/registry.js';
import { type Harness, startHarness } from '../support/harness.js';
import { until } from '../support/wait.js';

/**
 * The inline advance queues a task's successors out of the due index (orchestrator/overdue.ts). What
 * the index entry was for must still happen: a dispatch that is lost is dispatched again, and an
 * attempt whose holder stopped (here: hangs without a heartbeat, as a dead one would) is reclaimed
 * and run again, with the hung holder fenced out. The run watchdog is set far beyond each test, so the
 * master's timer is what recovers them; the last test has no master, so only the watchdog can.
 */
const chain = (name: string) => ({ name, tasks: { t0: { type: 'noop' }, t1: { type: 'noop', after: ['t0'] } } });
const LEASE = { BATON_LEASE_MS: '1500', BATON_WATCHDOG_MS: '600000' };

/** Drops the first dispatch of task `name`, as a lost async invocation. */
function dropFirst(h: Harness, name: string): { dropped: Job[] } {
  const deps = h.runtime.deps as { dispatch: (job: Job) => Promise<void> };
  const real = deps.dispatch;
  const out = { dropped: [] as Job[] };
  deps.dispatch = async (job) => {
    if (job.task === name && out.dropped.length === 0) out.dropped.push(job);
    else await real(job);
  };
  return out;
}

async function start(h: Harness, wf: string): Promise<string> {
  expect((await h.request('PUT', `/workflows/${wf}`, chain(wf))).status).toBe(201);
  return (await h.request('POST', `/workflows/${wf}/runs`, {})).body.runId as string;
}

/** The noop, except that the first attempt of `t1`, and of `r0`, hangs (no heartbeat) until `release`. */
function hangingOnce() {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const calls = new Map<string, number>();
  const hanging: Executor<{ output?: unknown }> = {
    ...noop,
    async execute(ctx) {
      const n = calls.get(ctx.task) ?? 0;
      calls.set(ctx.task, n + 1);
      if ((ctx.task === 't1' || ctx.task === 'r0') && n === 0) await released;
      return noop.execute(ctx);
    },
  };
  return { executors: { ...executors, noop: hanging }, release };
}

describe('tasks out of the due index are recovered', () => {
  let lost: Harness;
  let dead: Harness;
  let noMaster: Harness;
  const hang = hangingOnce();
  beforeAll(async () => {
    [lost, dead, noMaster] = await Promise.all([
      startHarness({ ...LEASE, BATON_EAGER_MAX_STEPS: '0' }),
      // No heartbeat within the test: the hung holder is, to the table, a dead one.
      startHarness({ ...LEASE, BATON_HEARTBEAT_MS: '600000' }, { deps: { executors: hang.executors } }),
      startHarness(
        { BATON_LEASE_MS: '1500', BATON_WATCHDOG_MS: '1500', BATON_EAGER_MAX_STEPS: '0' },
        { roles: { master: false, worker: true, sweeper: true } },
      ),
    ]);
  });
  afterAll(() => {
    hang.release();
    return Promise.all([lost.stop(), dead.stop(), noMaster.stop()]);
  });

  it('a lost dispatch of an unindexed successor is dispatched again (the master timer, not the watchdog)', async () => {
    const drop = dropFirst(lost, 't1');
    const runId = await start(lost, 'lost-dispatch');
    const run = await lost.waitForRun(runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(drop.dropped).toHaveLength(1);
    const t1 = await getTask(lost.runtime.deps.db, runId, 't1');
    expect(t1).toMatchObject({ status: 'succeeded', promotedBy: 'worker', attempt: 1 });
    expect(t1?.attempts?.map((a) => a.status)).toEqual(['succeeded']);
  }, 90_000);

  it('an eagerly held successor whose holder stopped is reclaimed and run again; the old holder is fenced out', async () => {
    const db = dead.runtime.deps.db;
    const runId = await start(dead, 'dead-holder');
    const held = await until('t1 held, unindexed', async () => {
      const t = await getTask(db, runId, 't1');
      return t?.status === 'running' && t.eager ? t : undefined;
    });
    expect(held.dueAt).toBeUndefined();
    const run = await dead.waitForRun(runId, 60_000);
    expect(run.status).toBe('succeeded');
    const t1 = await getTask(db, runId, 't1');
    // Reclaimed as lost (fence 1) and run again under fence 2; the hung holder still holds nothing it can write with.
    expect(t1?.attempts?.map((a) => [a.status, a.fence])).toEqual([
      ['lost', 1],
      ['succeeded', 2],
    ]);
  }, 90_000);

  // A run's roots are queued out of the due index too: the run's own entry, left at its creation's
  // claim deadline by the start, finds them (run-start.ts, reconcile.ts checkStart); the watchdog is out of reach.
  it('a lost dispatch of a root is dispatched again when the run falls due after its start', async () => {
    const db = lost.runtime.deps.db;
    const drop = dropFirst(lost, 't0');
    const runId = await start(lost, 'lost-root');
    const queued = await until('t0 queued, unindexed', async () => {
      const t = await getTask(db, runId, 't0');
      return t?.status === 'queued' ? t : undefined;
    });
    expect(queued.dueAt).toBeUndefined();
    const started = await until('the run started', async () => {
      const r = await getRun(db, runId);
      return r?.status !== 'queued' ? r : undefined;
    });
    // The start kept the due time the creation set (one lease after it), well short of the watchdog.
    expect(started.dueAt).toBe(started.createdAt + 1500);
    const run = await lost.waitForRun(runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(drop.dropped).toHaveLength(1);
    const t0 = await getTask(db, runId, 't0');
    expect(t0).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(t0?.attempts?.map((a) => a.status)).toEqual(['succeeded']);
  }, 90_000);

  it('a root whose holder stopped before its first heartbeat is reclaimed and run again', async () => {
    const db = dead.runtime.deps.db;
    expect((await dead.request('PUT', '/workflows/dead-root', { name: 'dead-root', tasks: { r0: { type: 'noop' } } })).status).toBe(201);
    const runId = (await dead.request('POST', '/workflows/dead-root/runs', {})).body.runId as string;
    const held = await until('r0 claimed', async () => {
      const t = await getTask(db, runId, 'r0');
      return t?.status === 'running' ? t : undefined;
    });
    expect(held.dueAt).toBeUndefined();
    const run = await dead.waitForRun(runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect((await getTask(db, runId, 'r0'))?.attempts?.map((a) => [a.status, a.fence])).toEqual([
      ['lost', 1],
      ['succeeded', 2],
    ]);
  }, 90_000);

  it('with no master, the run watchdog finds the lost dispatch', async () => {
    const db = noMaster.runtime.deps.db;
    const drop = dropFirst(noMaster, 't1');
    const runId = await start(noMaster, 'no-master');
    await until(
      'the run to end',
      async () => {
        const r = await getRun(db, runId);
        if (r?.status === 'queued') await noMaster.runtime.sweepNow();
        return r && ['succeeded', 'failed'].includes(r.status) ? r : undefined;
      },
      60_000,
      100,
    );
    expect((await getRun(db, runId))?.status).toBe('succeeded');
    expect(drop.dropped).toHaveLength(1);
    expect((await getTask(db, runId, 't1'))?.attempts?.map((a) => a.status)).toEqual(['succeeded']);
  }, 90_000);
});
