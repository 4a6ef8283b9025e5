import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import type { TaskItem } from '../../functions/store/items.js';
import { claim, finishAttempt, getTask, holds, promote, queueNew, reclaimLost, recordDep } from '../../functions/store/tasks.js';
import { Clock, guardDeps, oneTaskRun, pausing } from './support.js';

/**
 * Eager dispatch folds the claim into the write that makes a task ready (`EagerStart` on `queueNew`
 * and `promote`). That write is a claim: it must race like one (one holder per attempt, whichever of
 * an eager start, a plain queue and a duplicate wins), fence like one, and be reclaimable like one.
 */

const clock = new Clock();
const LEASE = 10_000;
let deps: Deps;
let runId: string;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
  runId = await oneTaskRun(deps);
});

const fresh = () => `e${++n}`;

describe('an eager start is a claim', () => {
  it('a new task started eagerly is running, fence 1, with its lease in the due index; a dispatch of it loses', async () => {
    const name = fresh();
    const t = await queueNew(deps.db, runId, name, clock.t, undefined, undefined, { owner: 'eager' });
    expect(t).toMatchObject({ status: 'running', attempt: 1, fence: 1, owner: 'eager', eager: true, dueAt: clock.t + LEASE });
    expect(await claim(deps.db, runId, name, 1, 'dispatched', clock.t)).toBeUndefined();
    expect(await queueNew(deps.db, runId, name, clock.t)).toBeUndefined();
    expect(await getTask(deps.db, runId, name)).toMatchObject({ status: 'running', fence: 1, owner: 'eager' });
  });

  it('eight eager and plain starts of one new task at once: one wins, and only an eager winner holds it', async () => {
    const name = fresh();
    const got = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        queueNew(deps.db, runId, name, clock.t, undefined, undefined, i % 2 ? { owner: `e${i}` } : undefined),
      ),
    );
    const won = got.filter((g) => g !== undefined) as TaskItem[];
    expect(won).toHaveLength(1);
    const stored = await getTask(deps.db, runId, name);
    expect(stored).toMatchObject({ status: won[0]?.status, fence: won[0]?.status === 'running' ? 1 : 0 });
  });

  it('a blocked join promoted by an eager and a plain advance at once: promoted once, one attempt', async () => {
    const name = fresh();
    await recordDep(deps.db, runId, name, 'x', 'succeeded');
    const got = await Promise.all([
      promote(deps.db, runId, name, clock.t, undefined, undefined, { owner: 'eager' }),
      promote(deps.db, runId, name, clock.t),
      promote(deps.db, runId, name, clock.t, undefined, undefined, { owner: 'eager2' }),
    ]);
    const won = got.filter((g) => g !== undefined) as TaskItem[];
    expect(won).toHaveLength(1);
    const t = await getTask(deps.db, runId, name);
    expect(t?.attempt).toBe(1);
    if (t?.status === 'running') expect(t).toMatchObject({ fence: 1, owner: won[0]?.owner, eager: true });
    else expect(t).toMatchObject({ status: 'queued', fence: 0 });
  });

  it('an eager holder that dies is reclaimed when its lease runs out, and its late outcome is fenced out', async () => {
    const name = fresh();
    const held = (await queueNew(deps.db, runId, name, clock.t, undefined, undefined, { owner: 'dead' })) as TaskItem;
    expect(await reclaimLost(deps.db, held, clock.t + LEASE - 1)).toBeUndefined(); // lease still live
    const lost = await reclaimLost(deps.db, held, clock.t + LEASE);
    expect(lost).toMatchObject({ status: 'queued', attempt: 1, lost: 1 });
    const again = await claim(deps.db, runId, name, 1, 'next', clock.t + LEASE);
    expect(again).toMatchObject({ status: 'running', fence: 2, owner: 'next' });
    expect(again?.eager).toBeUndefined();
    const late = await finishAttempt(deps.db, held, { kind: 'succeeded', output: 'zombie' }, clock.t + LEASE, holds(held));
    expect(late).toBeUndefined();
  });
});

describe('a claim told the due time it was dispatched with', () => {
  /** Claims through a client that counts the writes it sends. */
  async function claimCounting(name: string, now: number, dueAt?: number) {
    let writes = 0;
    const d = pausing(deps, () => {
      writes++;
    });
    const c = await claim(d.db, runId, name, 1, 'w', now, dueAt);
    return { c, writes };
  }

  it('a late job claims in one write, restarting the lease; a fresh one keeps its lease in one write', async () => {
    const late = fresh();
    const q = (await queueNew(deps.db, runId, late, clock.t)) as TaskItem;
    const at = clock.t + LEASE * 0.8;
    const one = await claimCounting(late, at, q.dueAt);
    expect(one.writes).toBe(1);
    expect(one.c).toMatchObject({ status: 'running', fence: 1, dueAt: at + LEASE });
    const early = fresh();
    const q2 = (await queueNew(deps.db, runId, early, clock.t)) as TaskItem;
    const two = await claimCounting(early, clock.t + 1, q2.dueAt);
    expect(two.writes).toBe(1);
    expect(two.c).toMatchObject({ status: 'running', fence: 1, dueAt: q2.dueAt });
  });

  it('a wrong hint still claims once, with a lease that cannot be reclaimed before the first heartbeat', async () => {
    const name = fresh();
    await queueNew(deps.db, runId, name, clock.t);
    const at = clock.t + LEASE * 0.8;
    const got = await Promise.all([claimCounting(name, at, clock.t + LEASE * 10), claimCounting(name, at, 0)]);
    const won = got.filter((g) => g.c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]?.c?.dueAt).toBe(at + LEASE);
  });
});
