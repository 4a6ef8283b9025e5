import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { indexInFlight } from '../../functions/orchestrator/overdue.js';
import { fireDue } from '../../functions/orchestrator/sweeper.js';
import { keys, type TaskItem } from '../../functions/store/items.js';
import {
  claim,
  finishAttempt,
  getTask,
  heartbeat,
  holds,
  indexOverdue,
  promote,
  queueNew,
  reclaimLost,
  recordDep,
} from '../../functions/store/tasks.js';
import { Clock, guardDeps, oneTaskRun } from './support.js';

/**
 * A task queued by an inline advance stays out of the due index (`QueueInfo.unindexed`) until a check,
 * the watchdog or its holder's heartbeat puts it there (`orchestrator/overdue.ts`). The write that
 * indexes it (`indexOverdue`) races claims, endings, heartbeats and reclaims: whichever comes first
 * wins, the attempt has one holder, and a dead holder's late outcome is fenced out.
 */

const clock = new Clock();
const LEASE = 10_000;
const LAZY = { by: 'worker', unindexed: true } as const;
let deps: Deps & { dispatched: unknown[] };
let runId: string;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
  runId = await oneTaskRun(deps);
});

const fresh = () => `u${++n}`;
const stored = (name: string) => getTask(deps.db, runId, name);

describe('queued without a due entry', () => {
  it('a new task, a promoted one and an eager start carry no due entry; a plain queue does', async () => {
    const [a, b, c, d] = [fresh(), fresh(), fresh(), fresh()];
    expect((await queueNew(deps.db, runId, a, clock.t, undefined, LAZY))?.dueAt).toBeUndefined();
    expect(await queueNew(deps.db, runId, b, clock.t, undefined, LAZY, { owner: 'e' })).toMatchObject({ status: 'running', fence: 1 });
    expect((await stored(b))?.dueAt).toBeUndefined();
    await recordDep(deps.db, runId, c, 'x', 'succeeded');
    expect((await promote(deps.db, runId, c, clock.t, undefined, LAZY))?.dueAt).toBeUndefined();
    expect((await queueNew(deps.db, runId, d, clock.t, undefined, { by: 'master' }))?.dueAt).toBe(clock.t + LEASE);
  });

  it('a claim of an unindexed attempt is one write and leaves it unindexed, however late', async () => {
    const name = fresh();
    await queueNew(deps.db, runId, name, clock.t, undefined, LAZY);
    const c = await claim(deps.db, runId, name, 1, 'w', clock.t + LEASE * 5);
    expect(c).toMatchObject({ status: 'running', fence: 1, owner: 'w', claimedAt: clock.t + LEASE * 5 });
    expect(c?.dueAt).toBeUndefined();
    expect(await claim(deps.db, runId, name, 1, 'twin', clock.t + LEASE * 5)).toBeUndefined();
  });
});

describe('indexing an in-flight attempt races its holder', () => {
  it('a claim that comes first: the stale index write does nothing, and the attempt has one holder', async () => {
    const name = fresh();
    const q = (await queueNew(deps.db, runId, name, clock.t, undefined, LAZY)) as TaskItem;
    expect(await claim(deps.db, runId, name, 1, 'w', clock.t + 1)).toMatchObject({ status: 'running', fence: 1 });
    expect(await indexOverdue(deps.db, q, (q.queuedAt as number) + LEASE)).toBeUndefined();
    expect((await stored(name))?.dueAt).toBeUndefined();
  });

  it('an index that comes first: a late claim restarts the lease in one claim, and a twin claim loses', async () => {
    const name = fresh();
    const q = (await queueNew(deps.db, runId, name, clock.t, undefined, LAZY)) as TaskItem;
    expect((await indexOverdue(deps.db, q, (q.queuedAt as number) + LEASE))?.dueAt).toBe(clock.t + LEASE);
    const at = clock.t + LEASE * 2;
    const got = await Promise.all([claim(deps.db, runId, name, 1, 'w', at), claim(deps.db, runId, name, 1, 'twin', at)]);
    const won = got.filter((g) => g !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ status: 'running', fence: 1, dueAt: at + LEASE });
  });

  it('an ending that comes first: the index write fails and the ended item stays out of the index', async () => {
    const name = fresh();
    const held = (await queueNew(deps.db, runId, name, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    expect(await finishAttempt(deps.db, held, { kind: 'succeeded', output: 1 }, clock.t + 1, holds(held))).toBeDefined();
    expect(await indexOverdue(deps.db, held, clock.t + LEASE)).toBeUndefined();
    const t = await stored(name);
    expect(t?.status).toBe('succeeded');
    expect(t?.dueAt).toBeUndefined();
  });

  it('an index that comes first: the ending still lands and takes the entry away', async () => {
    const name = fresh();
    const held = (await queueNew(deps.db, runId, name, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    expect((await indexOverdue(deps.db, held, clock.t + LEASE))?.dueAt).toBe(clock.t + LEASE);
    expect(await finishAttempt(deps.db, held, { kind: 'succeeded', output: 1 }, clock.t + 1, holds(held))).toBeDefined();
    expect((await stored(name))?.dueAt).toBeUndefined();
  });

  it('a heartbeat that comes first wins (the attempt is indexed); one that comes second moves the entry on', async () => {
    const a = fresh();
    const ha = (await queueNew(deps.db, runId, a, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    expect(await heartbeat(deps.db, ha, clock.t + 2 * LEASE)).toBeDefined();
    expect(await indexOverdue(deps.db, ha, clock.t + LEASE)).toBeUndefined();
    expect((await getTask(deps.db, runId, a))?.dueAt).toBe(clock.t + 2 * LEASE);
    const b = fresh();
    const hb = (await queueNew(deps.db, runId, b, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    expect(await indexOverdue(deps.db, hb, clock.t + LEASE)).toBeDefined();
    expect((await heartbeat(deps.db, hb, clock.t + 3 * LEASE))?.dueAt).toBe(clock.t + 3 * LEASE);
  });

  it('a stale view (another attempt, another fence, another status) indexes nothing', async () => {
    const name = fresh();
    const held = (await queueNew(deps.db, runId, name, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    for (const stale of [
      { ...held, fence: 2 },
      { ...held, attempt: 2 },
      { ...held, status: 'queued' as const },
    ]) {
      expect(await indexOverdue(deps.db, stale, clock.t)).toBeUndefined();
    }
    expect((await stored(name))?.dueAt).toBeUndefined();
    expect(await indexOverdue(deps.db, held, clock.t)).toBeDefined();
    expect(await indexOverdue(deps.db, held, clock.t + 1)).toBeUndefined(); // indexed once: the second finds an entry
    expect((await stored(name))?.dueAt).toBe(clock.t);
  });

  it('a dead holder indexed when overdue is reclaimed, and its late outcome is fenced out', async () => {
    const name = fresh();
    const held = (await queueNew(deps.db, runId, name, clock.t, undefined, LAZY, { owner: 'dead' })) as TaskItem;
    expect(await reclaimLost(deps.db, held, clock.t + LEASE * 3)).toBeUndefined(); // unindexed: nothing to reclaim by
    const left = await indexInFlight(deps, [held]);
    expect(left).toBe(0);
    expect((await stored(name))?.dueAt).toBe((held.claimedAt as number) + LEASE);
    const lost = await reclaimLost(deps.db, held, (held.claimedAt as number) + LEASE);
    expect(lost).toMatchObject({ status: 'queued', attempt: 1, lost: 1 });
    expect(await claim(deps.db, runId, name, 1, 'next', clock.t + LEASE)).toMatchObject({ fence: 2, owner: 'next' });
    expect(await finishAttempt(deps.db, held, { kind: 'succeeded', output: 'zombie' }, clock.t + LEASE, holds(held))).toBeUndefined();
  });

  it('indexInFlight re-reads a task whose state moved under it, and leaves ended and held ones alone', async () => {
    const [moved, ended] = [fresh(), fresh()];
    const q = (await queueNew(deps.db, runId, moved, clock.t, undefined, LAZY)) as TaskItem;
    const c = (await claim(deps.db, runId, moved, 1, 'w', clock.t + 5)) as TaskItem; // after the caller's read
    const e = (await queueNew(deps.db, runId, ended, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    await finishAttempt(deps.db, e, { kind: 'succeeded', output: 1 }, clock.t + 1, holds(e));
    expect(await indexInFlight(deps, [q, e, { ...e, status: 'queued', held: true, fence: 0 }])).toBe(0);
    expect((await stored(moved))?.dueAt).toBe((c.claimedAt as number) + LEASE); // indexed as the running attempt it became
    expect((await stored(ended))?.dueAt).toBeUndefined();
  });
});

describe('a timer on an unindexed attempt (fireDue)', () => {
  it('indexes one still in flight at its natural due time, and leaves an ended one alone', async () => {
    const [q, h, e] = [fresh(), fresh(), fresh()];
    const queued = (await queueNew(deps.db, runId, q, clock.t, undefined, LAZY)) as TaskItem;
    const held = (await queueNew(deps.db, runId, h, clock.t + 1, undefined, LAZY, { owner: 'dead' })) as TaskItem;
    const ended = (await queueNew(deps.db, runId, e, clock.t, undefined, LAZY, { owner: 'h' })) as TaskItem;
    await finishAttempt(deps.db, ended, { kind: 'succeeded', output: 1 }, clock.t + 1, holds(ended));
    for (const name of [q, h, e]) await fireDue(deps, keys.task(runId, name));
    expect((await stored(q))?.dueAt).toBe((queued.queuedAt as number) + LEASE);
    expect((await stored(h))?.dueAt).toBe((held.claimedAt as number) + LEASE);
    expect((await stored(e))?.dueAt).toBeUndefined();
    // Once due, the same fireDue dispatches the lost dispatch again and reclaims the dead holder.
    clock.t += LEASE + 1;
    for (const name of [q, h]) await fireDue(deps, keys.task(runId, name));
    expect(await stored(q)).toMatchObject({ status: 'queued', dueAt: clock.t + LEASE });
    expect(await stored(h)).toMatchObject({ status: 'queued', lost: 1 });
    expect(await finishAttempt(deps.db, held, { kind: 'succeeded', output: 'zombie' }, clock.t, holds(held))).toBeUndefined();
  });
});
