import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { Db } from '../../functions/store/db.js';
import { and } from '../../functions/store/expr.js';
import type { TaskItem } from '../../functions/store/items.js';
import { cancelTask, markSucceeded } from '../../functions/store/task-operations.js';
import {
  addDoneDep,
  claim,
  type Ending,
  failUnstarted,
  finishAttempt,
  getTask,
  heartbeat,
  holds,
  NOT_WOKEN,
  promote,
  queueNew,
  reclaimLost,
  recordDep,
  redispatch,
  requestWake,
  setDeadline,
  skip,
  wake,
} from '../../functions/store/tasks.js';
import { Clock, guardDeps, oneTaskRun } from './support.js';

/**
 * One claim per attempt, one outcome per fence, and every task transition from the state it read.
 * Each test hands a store transition a view that another caller has made stale (or runs the same
 * transition many times at once) and checks that the write's condition, not the caller, refuses it.
 */

const clock = new Clock();
const LEASE = 10_000;
let deps: Deps;
let strict: Deps; // maxLost 1: the first expired lease fails the task
let runId: string;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
  strict = { ...deps, db: new Db(deps.db.doc, { ...deps.db.config, maxLost: 1 }) };
  runId = await oneTaskRun(deps);
});

/** A new queued task (attempt 1) under a fresh name. */
async function queued(d: Deps = deps): Promise<TaskItem> {
  const t = await queueNew(d.db, runId, `t${++n}`, clock.t);
  if (!t) throw new Error('queueNew lost');
  return t;
}

async function claimed(d: Deps = deps, owner = 'A'): Promise<TaskItem> {
  const t = await queued(d);
  const c = await claim(d.db, runId, t.name, 1, owner, clock.t);
  if (!c) throw new Error('claim lost');
  return c;
}

const get = async (t: TaskItem) => (await getTask(deps.db, runId, t.name)) as TaskItem;

const ENDINGS: Ending[] = [
  { kind: 'succeeded', output: { by: 'zombie' } },
  { kind: 'failed', error: { reason: 'error', message: 'zombie' } },
  { kind: 'retry', error: { reason: 'error', message: 'zombie' }, at: 0 },
  { kind: 'suspend', at: 0, state: { by: 'zombie' } },
];

describe('one claim per attempt', () => {
  it('eight workers claiming one queued attempt at once: one holds it, with fence 1', async () => {
    const t = await queued();
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(deps.db, runId, t.name, 1, `w${i}`, clock.t)));
    const won = got.filter((g) => g !== undefined);
    expect(won).toHaveLength(1);
    expect(await get(t)).toMatchObject({ status: 'running', fence: 1, owner: won[0]?.owner });
  });

  it('a claim for an attempt that has moved on is refused', async () => {
    const t = await claimed();
    const retried = await finishAttempt(
      deps.db,
      t,
      { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t },
      clock.t,
      holds(t),
    );
    expect(await wake(deps.db, retried as TaskItem, clock.t)).toMatchObject({ status: 'queued', attempt: 2 });
    expect(await claim(deps.db, runId, t.name, 1, 'stale', clock.t)).toBeUndefined();
    expect(await get(t)).toMatchObject({ status: 'queued', attempt: 2 });
  });

  it('a claim that arrives late restarts the lease, so the sweeper cannot reclaim it before its first heartbeat', async () => {
    const t = await queued();
    const late = clock.t + LEASE * 0.8;
    const c = await claim(deps.db, runId, t.name, 1, 'late', late);
    expect(c?.dueAt).toBe(late + LEASE);
  });
});

describe('one outcome per fence', () => {
  for (const ending of ENDINGS) {
    it(`a zombie's ${ending.kind} after its lease was reclaimed fails, before and after a new holder claims`, async () => {
      const zombie = await claimed();
      const later = clock.t + LEASE + 1;
      expect(await reclaimLost(deps.db, zombie, later)).toMatchObject({ status: 'queued', attempt: 1 });
      expect(await finishAttempt(deps.db, zombie, ending, later, holds(zombie))).toBeUndefined();
      const holder = await claim(deps.db, runId, zombie.name, 1, 'B', later);
      expect(holder?.fence).toBe(2);
      expect(await finishAttempt(deps.db, zombie, ending, later, holds(zombie))).toBeUndefined();
      expect(await get(zombie)).toMatchObject({ status: 'running', owner: 'B', fence: 2 });
      expect(
        await finishAttempt(deps.db, holder as TaskItem, { kind: 'succeeded', output: 1 }, later, holds(holder as TaskItem)),
      ).toBeDefined();
    });
  }

  it("a zombie's heartbeat and deadline fail once a new holder has the attempt", async () => {
    const zombie = await claimed();
    const later = clock.t + LEASE + 1;
    await reclaimLost(deps.db, zombie, later);
    expect(await heartbeat(deps.db, zombie, later + LEASE)).toBeUndefined();
    expect(await setDeadline(deps.db, zombie, later + 5)).toBeUndefined();
    await claim(deps.db, runId, zombie.name, 1, 'B', later);
    expect(await heartbeat(deps.db, zombie, later + LEASE)).toBeUndefined();
    expect(await setDeadline(deps.db, zombie, later + 5)).toBeUndefined();
    expect((await get(zombie)).deadline).toBeUndefined();
  });

  it('a holder may not suspend once a wake-up was requested; it may still finish', async () => {
    const t = await claimed();
    expect(await requestWake(deps.db, runId, t.name, 1)).toBeDefined();
    expect(
      await finishAttempt(deps.db, t, { kind: 'suspend', at: clock.t + 60_000, state: {} }, clock.t, and(holds(t), NOT_WOKEN)),
    ).toBeUndefined();
    expect(await finishAttempt(deps.db, t, { kind: 'succeeded', output: 1 }, clock.t, holds(t))).toBeDefined();
  });

  it('a wake-up request reaches only the running attempt it names', async () => {
    const t = await claimed();
    expect(await requestWake(deps.db, runId, t.name, 2)).toBeUndefined();
    await finishAttempt(deps.db, t, { kind: 'suspend', at: clock.t + 60_000, state: {} }, clock.t, holds(t));
    expect(await requestWake(deps.db, runId, t.name, 1)).toBeUndefined();
    expect((await get(t)).wakeRequested).toBeUndefined();
  });
});

describe('reclaiming a lost lease, from a view that went stale', () => {
  for (const [label, d] of [
    ['re-queue', () => deps],
    ['fail as lost', () => strict],
  ] as const) {
    it(`${label}: refused once the holder heartbeated after the sweeper read it`, async () => {
      const seen = await claimed(d());
      const later = clock.t + LEASE + 1;
      expect(await heartbeat(d().db, seen, later + LEASE)).toBeDefined();
      expect(await reclaimLost(d().db, seen, later)).toBeUndefined();
      expect(await get(seen)).toMatchObject({ status: 'running', fence: 1 });
    });

    it(`${label}: refused once the holder recorded a retry that is already due`, async () => {
      const seen = await claimed(d());
      const later = clock.t + LEASE + 1;
      await finishAttempt(d().db, seen, { kind: 'retry', error: { reason: 'error', message: 'y' }, at: later - 1 }, later - 1, holds(seen));
      expect(await reclaimLost(d().db, seen, later)).toBeUndefined();
      expect(await get(seen)).toMatchObject({ status: 'waiting', wake: 'retry' });
    });

    it(`${label}: refused once another sweeper reclaimed it and a new holder's lease expired too`, async () => {
      const seen = await claimed(d());
      const later = clock.t + LEASE + 1;
      expect(await reclaimLost(deps.db, seen, later)).toBeDefined();
      expect(await claim(deps.db, runId, seen.name, 1, 'B', later)).toBeDefined();
      expect(await reclaimLost(d().db, seen, later + 2 * LEASE)).toBeUndefined();
      expect(await get(seen)).toMatchObject({ status: 'running', owner: 'B', lost: 1 });
    });
  }
});

describe('task transitions from the state they read', () => {
  it('a task is created once', async () => {
    const t = await queued();
    expect(await queueNew(deps.db, runId, t.name, clock.t)).toBeUndefined();
  });

  it('two masters promoting one blocked task at once: one queues it', async () => {
    const name = `p${++n}`;
    await addDoneDep(deps.db, runId, name, 'x');
    const got = await Promise.all([promote(deps.db, runId, name, clock.t), promote(deps.db, runId, name, clock.t)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a promoted task is neither skipped nor re-marked; a claimed one is not promoted again', async () => {
    const name = `p${++n}`;
    await addDoneDep(deps.db, runId, name, 'x');
    expect(await promote(deps.db, runId, name, clock.t)).toBeDefined();
    expect(await skip(deps.db, runId, name, clock.t, { reason: 'upstream', message: 'm' })).toBeUndefined();
    expect(await addDoneDep(deps.db, runId, name, 'y')).toBeUndefined();
    expect(await recordDep(deps.db, runId, name, 'z', 'skipped', { reason: 'upstream', message: 'm' })).toBeUndefined();
    expect(await failUnstarted(deps.db, runId, name, clock.t, { reason: 'expression', message: 'm' })).toBeUndefined();
    await claim(deps.db, runId, name, 1, 'A', clock.t);
    expect(await promote(deps.db, runId, name, clock.t)).toBeUndefined();
    expect(await getTask(deps.db, runId, name)).toMatchObject({ status: 'running', fence: 1 });
  });

  it('a retry wakes once: a stale wake of the old attempt does not re-queue the new one', async () => {
    const t = await claimed();
    const waiting = (await finishAttempt(
      deps.db,
      t,
      { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t },
      clock.t,
      holds(t),
    )) as TaskItem;
    expect(await wake(deps.db, waiting, clock.t)).toMatchObject({ attempt: 2 });
    const second = (await claim(deps.db, runId, t.name, 2, 'B', clock.t)) as TaskItem;
    expect(await wake(deps.db, waiting, clock.t)).toBeUndefined();
    await finishAttempt(deps.db, second, { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t }, clock.t, holds(second));
    expect(await wake(deps.db, waiting, clock.t)).toBeUndefined();
    expect(await get(t)).toMatchObject({ status: 'waiting', attempt: 2 });
  });

  it('a stale resume of a suspended attempt does not turn its later retry into a re-run', async () => {
    const t = await claimed();
    const suspended = (await finishAttempt(deps.db, t, { kind: 'suspend', at: clock.t, state: {} }, clock.t, holds(t))) as TaskItem;
    expect(await wake(deps.db, suspended, clock.t)).toMatchObject({ attempt: 1, status: 'queued' });
    const again = (await claim(deps.db, runId, t.name, 1, 'B', clock.t)) as TaskItem;
    await finishAttempt(deps.db, again, { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t }, clock.t, holds(again));
    expect(await wake(deps.db, suspended, clock.t)).toBeUndefined();
    expect(await get(t)).toMatchObject({ status: 'waiting', wake: 'retry', attempt: 1 });
  });

  it('two sweepers re-dispatching one unclaimed attempt from the same view: one does', async () => {
    const t = await queued();
    const got = await Promise.all([redispatch(deps.db, t, clock.t + 1), redispatch(deps.db, t, clock.t + 2)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a re-dispatch from a stale view is refused: the attempt was claimed, or a later attempt is queued', async () => {
    const t = await queued();
    await claim(deps.db, runId, t.name, 1, 'A', clock.t);
    expect(await redispatch(deps.db, t, clock.t + 1)).toBeUndefined();
    // Attempt 2 queued at the same instant as attempt 1 was: same due time, other attempt.
    const u = await queued();
    const c = (await claim(deps.db, runId, u.name, 1, 'A', clock.t)) as TaskItem;
    const w = (await finishAttempt(
      deps.db,
      c,
      { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t },
      clock.t,
      holds(c),
    )) as TaskItem;
    expect(await wake(deps.db, w, clock.t)).toMatchObject({ attempt: 2, dueAt: u.dueAt });
    expect(await redispatch(deps.db, u, clock.t + 1)).toBeUndefined();
  });

  it('cancel closes only the task it read: a holder that finished first, or a newer fence, wins', async () => {
    const t = await claimed();
    const error = { reason: 'cancelled' as const, message: 'c' };
    // Cancel and the holder's success race from the same view: exactly one of them lands.
    const got = await Promise.all([
      cancelTask(deps.db, t, clock.t, error),
      finishAttempt(deps.db, t, { kind: 'succeeded', output: 1 }, clock.t, holds(t)),
    ]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
    // A stale view (the queued attempt another worker has since claimed) is refused.
    const q = await queued();
    await claim(deps.db, runId, q.name, 1, 'B', clock.t);
    expect(await cancelTask(deps.db, q, clock.t, error)).toBeUndefined();
    expect(await get(q)).toMatchObject({ status: 'running', owner: 'B' });
  });

  it('mark success fences out the running holder: its late outcome is refused, and two marks land once', async () => {
    const t = await claimed();
    const marks = await Promise.all([markSucceeded(deps.db, t, 'm1', clock.t), markSucceeded(deps.db, t, 'm2', clock.t)]);
    expect(marks.filter((m) => m !== undefined)).toHaveLength(1);
    expect(await finishAttempt(deps.db, t, { kind: 'succeeded', output: 'late' }, clock.t, holds(t))).toBeUndefined();
    const done = await get(t);
    expect(done.status).toBe('succeeded');
    expect(['m1', 'm2']).toContain(done.output);
  });
});
