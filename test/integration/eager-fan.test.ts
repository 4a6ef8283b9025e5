import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../../functions/orchestrator/run-start.js';
import { getRun } from '../../functions/store/runs.js';
import { getTask } from '../../functions/store/tasks.js';
import { countRunReads, type Harness, startHarness } from '../support/harness.js';
import { type Reply, startHttpTarget } from '../support/http-target.js';
import { until } from '../support/wait.js';

/**
 * Eager dispatch across a fan-out (`orchestrator/eager.ts`): the invocation that ends a task claims its
 * ready successors with the writes that queue them, up to `BATON_EAGER_PARALLEL` at a time, and runs them
 * side by side. No master runs (no stream poller), so every step after the start is the workers' own.
 */
const NO_MASTER = { roles: { master: false, worker: true, sweeper: false } };

/**
 * An HTTP target that answers no call until `n` calls are in flight at once, then all of them (and any
 * later one at once). Branches run one after another would never get there: each would time out instead.
 */
async function barrier(n: number) {
  const target = await startHttpTarget();
  const waiting: ((r: Reply) => void)[] = [];
  let most = 0;
  target.route('/', () => {
    if (most >= n) return { body: { late: true } };
    return new Promise<Reply>((answer) => {
      waiting.push(answer);
      most = Math.max(most, waiting.length);
      if (waiting.length === n) for (const a of waiting.splice(0)) a({ body: { together: n } });
    });
  });
  return { url: `${target.url}/`, most: () => most, close: () => target.close() };
}

/** A fan-out of `width` branches of `branch` between a root and a join. */
const fan = (name: string, width: number, branch: object) => ({
  name,
  tasks: {
    root: { type: 'noop' },
    ...Object.fromEntries(Array.from({ length: width }, (_, i) => [`m${i}`, { ...branch, after: ['root'] }])),
    join: { type: 'noop', after: Array.from({ length: width }, (_, i) => `m${i}`), output: 'joined' },
  },
});

/** Starts a run as the master would from its creation record (no stream here), and waits for it to end. */
async function runToEnd(h: Harness, definition: { name: string }): Promise<string> {
  const db = h.runtime.deps.db;
  expect((await h.request('PUT', `/workflows/${definition.name}`, definition)).status).toBe(201);
  const runId = (await h.request('POST', `/workflows/${definition.name}/runs`, {})).body.runId as string;
  await startRun(h.runtime.deps, runId);
  await until(
    'the run to end',
    async () => {
      const r = await getRun(db, runId);
      return r && ['succeeded', 'failed'].includes(r.status);
    },
    60_000,
    50,
  );
  return runId;
}

const branchesOf = (h: Harness, runId: string, width: number) =>
  Promise.all(Array.from({ length: width }, (_, i) => getTask(h.runtime.deps.db, runId, `m${i}`)));

describe('eager dispatch across a fan-out', () => {
  let wide: Harness;
  let two: Harness;
  let full: Harness;
  beforeAll(async () => {
    [wide, two, full] = await Promise.all([
      startHarness({}, NO_MASTER),
      startHarness({ BATON_EAGER_PARALLEL: '2' }, NO_MASTER),
      // With a master: a counted join is told by the endings' stream records.
      startHarness({}),
    ]);
  });
  afterAll(() => Promise.all([wide.stop(), two.stop(), full.stop()]));

  it('a branch whose only successor is a counted join reads the run once, at its claim, not again with its ending', async () => {
    const width = 20; // over COUNTED_JOIN_FROM: the join counts its dependencies' endings
    const reads = countRunReads(full);
    try {
      const runId = await runToEnd(full, fan('counted', width, { type: 'noop' }));
      expect(await getRun(full.runtime.deps.db, runId)).toMatchObject({ status: 'succeeded', output: { join: 'joined' } });
      console.log(`run reads for a fan-out of ${width} into a counted join: ${reads.n}`);
      // Per branch at most its claim's read (eager branches share one); the root, the join, the start,
      // the join's decision and the run's end a few more (25–27 seen). With a read beside each branch's
      // ending, 20 more (45 seen).
      expect(reads.n).toBeLessThanOrEqual(width + 12);
    } finally {
      reads.stop();
    }
  });

  it('the invocation that ends the root claims its four branches as it queues them and runs them side by side', async () => {
    const target = await barrier(4);
    try {
      const runId = await runToEnd(wide, fan('side-by-side', 4, { type: 'http', method: 'POST', url: target.url, requestTimeout: '20s' }));
      expect(await getRun(wide.runtime.deps.db, runId)).toMatchObject({ status: 'succeeded', output: { join: 'joined' } });
      expect(target.most()).toBe(4);
      const root = await getTask(wide.runtime.deps.db, runId, 'root');
      for (const t of await branchesOf(wide, runId, 4)) {
        // Claimed by the write that queued it (fence 1, no claim after), in the root's worker, once.
        expect(t).toMatchObject({ status: 'succeeded', eager: true, promotedBy: 'worker', fence: 1, output: { together: 4 } });
        expect(t?.attempts?.map((a) => [a.status, a.worker])).toEqual([['succeeded', root?.attempts?.[0]?.worker]]);
      }
    } finally {
      await target.close();
    }
  });

  it('BATON_EAGER_PARALLEL bounds what one invocation holds: of four branches two are claimed eagerly, two dispatched', async () => {
    const runId = await runToEnd(two, fan('two-at-a-time', 4, { type: 'noop' }));
    expect((await getRun(two.runtime.deps.db, runId))?.status).toBe('succeeded');
    const branches = await branchesOf(two, runId, 4);
    // The root's place passes to the first branch it starts: two places, two eager starts.
    expect(branches.filter((t) => t?.eager === true)).toHaveLength(2);
    for (const t of branches) {
      expect(t).toMatchObject({ status: 'succeeded', promotedBy: 'worker', fence: 1 });
      expect(t?.attempts?.map((a) => a.status)).toEqual(['succeeded']);
    }
  });
});
