import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Cluster,
  checkInvariants,
  type Item,
  type Proc,
  scanTable,
  startCluster,
  stopClusters,
  waitFor,
} from '../crash/support.js';

/**
 * Two runtime processes over one table share its work (BATON_SHARE_WORK=1, see
 * functions/local/work-share.ts) run by run: every task runs once, both do work (16 runs, so the chance
 * that one process owns them all is 2^-15), and the share of a process
 * killed with SIGKILL is taken over by the survivor, so its runs finish. The run watchdog is set far
 * beyond the test's length, so it cannot be what finishes them.
 */
describe('work sharing between local runtime processes', () => {
  let cluster: Cluster;
  let a: Proc;
  let b: Proc;
  let client: Api;
  const takeovers: string[] = [];

  stopClusters('all');
  beforeAll(async () => {
    const started = await startCluster(
      {
        BATON_SHARE_WORK: '1',
        // Task leases long enough that a loaded machine does not lose a noop's lease (a lost attempt
        // would run twice, which is failover, not sharing); the kill test waits one lease for a's attempts.
        BATON_LEASE_MS: '4000',
        BATON_HEARTBEAT_MS: '500',
        // Member leases that outlast a loaded machine's stalls (shorter ones flap, and members then race).
        BATON_MEMBER_LEASE_MS: '4000',
        BATON_MEMBER_HEARTBEAT_MS: '500',
        BATON_WATCHDOG_MS: '600000',
        BATON_RECHECK_MS: '600000',
      },
      'share',
    );
    cluster = started.cluster;
    a = await cluster.add('a', 'master,worker,sweeper');
    b = await cluster.add('b', 'master,worker,sweeper');
    b.onLine((line) => {
      if (line.includes('taking over stream records')) takeovers.push(line);
    });
    await Promise.all([a.start(), b.start()]);
    client = started.api;
    const fan: Record<string, unknown> = { root: { type: 'noop' } };
    const mid = Array.from({ length: 6 }, (_, i) => `m${i}`);
    for (const m of mid) fan[m] = { type: 'noop', after: ['root'] };
    fan.join = { type: 'noop', after: mid };
    await client.put({ name: 'fan', tasks: fan });
    await client.put({ name: 'leaf', tasks: { only: { type: 'noop' } } });
    const steps: Record<string, unknown> = {};
    for (let i = 0; i < 10; i++) steps[`s${i}`] = i === 0 ? { type: 'noop' } : { type: 'noop', after: [`s${i - 1}`] };
    steps.sub = { type: 'subworkflow', workflow: 'leaf', after: ['s2'] };
    await client.put({ name: 'steps', tasks: steps });
  });

  const tasksOf = (items: Item[], runIds: string[]) => items.filter((i) => i.kind === 'task' && runIds.includes(i.runId));
  const runsDone = (runIds: string[]) =>
    waitFor(
      'runs to finish',
      async () => {
        const items = await scanTable(client.deps);
        const runs = items.filter((i) => i.kind === 'run' && runIds.includes(i.runId));
        return runs.length === runIds.length && runs.every((r) => r.status === 'succeeded') ? items : undefined;
      },
      120_000,
      200,
    );

  it('runs every task once, and both processes do work', async () => {
    const runIds = await Promise.all(Array.from({ length: 16 }, () => client.start('fan')));
    const items = await runsDone(runIds);
    const tasks = tasksOf(items, runIds);
    expect(tasks).toHaveLength(16 * 8);
    for (const t of tasks) {
      expect(t.status).toBe('succeeded');
      // One success: no twin master queued it twice, no twin worker ran it. A lost attempt (a lease that
      // expired on a loaded machine, reclaimed by the sweeper) is failover, not a second run.
      const statuses = (t.attempts ?? []).map((x: Item) => x.status);
      expect(statuses.filter((x: string) => x === 'succeeded')).toEqual(['succeeded']);
      expect(statuses.filter((x: string) => x !== 'succeeded' && x !== 'lost')).toEqual([]);
    }
    const workerOf = (t: Item) => t.attempts.find((x: Item) => x.status === 'succeeded').worker;
    expect(new Set(tasks.map(workerOf))).toEqual(new Set([a.ready?.workerId, b.ready?.workerId]));
    expect(checkInvariants(items, { allTerminal: true }).violations).toEqual([]);
  }, 150_000);

  it('takes over the share of a process killed with SIGKILL, and its runs finish', async () => {
    // 16 runs, so that `a` owns some of them (shared by run; 2^-16 that it owns none).
    const runIds = await Promise.all(Array.from({ length: 16 }, () => client.start('steps')));
    const aId = a.ready?.workerId;
    // Kill `a` while the runs are under way and after it has done some of their work.
    await waitFor(
      'process a to run some tasks',
      async () => {
        const tasks = tasksOf(await scanTable(client.deps), runIds);
        return (
          tasks.some((t) => t.attempts?.some((x: Item) => x.worker === aId)) && tasks.filter((t) => t.status === 'succeeded').length >= 6
        );
      },
      60_000,
      50,
    );
    const killedAt = Date.now();
    await a.kill();
    const items = await runsDone(runIds);
    expect(checkInvariants(items, { allTerminal: true }).violations).toEqual([]);
    // The survivor took over records the dead member owned, and did the rest of the work.
    expect(takeovers.length).toBeGreaterThan(0);
    const after = tasksOf(items, runIds).flatMap((t) => (t.attempts ?? []).filter((x: Item) => x.startedAt > killedAt + 100));
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((x) => x.worker))).toEqual(new Set([b.ready?.workerId]));
  }, 200_000);
});
