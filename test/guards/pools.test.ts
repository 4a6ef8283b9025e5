import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../functions/engine/definition/types.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { poolGate } from '../../functions/orchestrator/pools.js';
import type { TaskItem } from '../../functions/store/items.js';
import {
  acquire,
  dropWaiting,
  enqueue,
  getPool,
  grant,
  type Holder,
  holderId,
  type PoolItem,
  putPool,
  release,
  rescheduleCheck,
  waitingEntry,
} from '../../functions/store/pools.js';
import { Clock, gate, guardDeps, lockstep, pausing } from './support.js';

/**
 * The pool semaphore: one grant per holder, never more slots in use than the pool has, FIFO against
 * newcomers, one release per grant. Racing callers are driven to their write together (`lockstep`), so
 * the conditional write, not the caller's read, decides.
 */

const clock = new Clock();
let deps: Deps;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
});

async function pool(slots: number): Promise<string> {
  const name = `p${++n}`;
  await putPool(deps.db, name, slots, clock.t);
  return name;
}

const holder = (i: number, slots = 1): Holder => ({ runId: `r${i}`, task: 't', attempt: 1, slots });
const entry = (h: Holder, at = clock.t) => ({ ...h, entry: waitingEntry(h, 0, at) });
const read = async (name: string) => (await getPool(deps.db, name)) as PoolItem;

describe('pool slots', () => {
  it('one slot per pool holder: eight racing acquires by the same attempt take one slot', async () => {
    const name = await pool(10);
    const got = await Promise.all(lockstep(deps, 8).map((d) => acquire(d.db, name, holder(1), 10, clock.t)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await read(name)).toMatchObject({ inUse: 1, holders: new Set([holderId(holder(1))]) });
  });

  it('six holders racing for a pool of 2: two hold, and inUse never passes the size', async () => {
    const name = await pool(2);
    const got = await Promise.all(lockstep(deps, 6).map((d, i) => acquire(d.db, name, holder(i), 2, clock.t)));
    expect(got.filter(Boolean)).toHaveLength(2);
    expect((await read(name)).inUse).toBe(2);
  });

  it('a holder asking for 2 slots does not fit where only 1 is left', async () => {
    const name = await pool(2);
    expect(await acquire(deps.db, name, holder(1), 2, clock.t)).toBe(true);
    expect(await acquire(deps.db, name, holder(2, 2), 2, clock.t)).toBe(false);
    expect((await read(name)).inUse).toBe(1);
  });

  it('an acquire that read an older size is refused', async () => {
    const name = await pool(1);
    await putPool(deps.db, name, 3, clock.t);
    expect(await acquire(deps.db, name, holder(1), 1, clock.t)).toBe(false);
    expect(await acquire(deps.db, name, holder(1), 3, clock.t)).toBe(true);
  });

  it('a newcomer does not overtake the line, even where there is room', async () => {
    const name = await pool(2);
    expect(await enqueue(deps.db, name, entry(holder(1)), clock.t)).toBe(true);
    expect(await acquire(deps.db, name, holder(2), 2, clock.t)).toBe(false);
    expect((await read(name)).inUse).toBe(0);
  });

  it('a holder cannot also join the line; joining twice is one entry', async () => {
    const name = await pool(2);
    await acquire(deps.db, name, holder(1), 2, clock.t);
    expect(await enqueue(deps.db, name, entry(holder(1)), clock.t)).toBe(false);
    const e = entry(holder(2));
    await Promise.all(lockstep(deps, 4).map((d) => enqueue(d.db, name, e, clock.t)));
    expect((await read(name)).waiting).toEqual(new Set([e.entry]));
  });

  it('four racing grants of one waiting entry: one moves it, one slot taken', async () => {
    const name = await pool(2);
    const e = entry(holder(1));
    await enqueue(deps.db, name, e, clock.t);
    const got = await Promise.all(lockstep(deps, 4).map((d) => grant(d.db, name, e, 2)));
    expect(got.filter(Boolean)).toHaveLength(1);
    const p = await read(name);
    expect(p.inUse).toBe(1);
    expect(p.waiting).toBeUndefined();
  });

  it('grants racing for the last slot: one gets it', async () => {
    const name = await pool(2);
    await acquire(deps.db, name, holder(0), 2, clock.t);
    const es = [1, 2, 3].map((i) => entry(holder(i)));
    for (const e of es) await enqueue(deps.db, name, e, clock.t);
    const got = await Promise.all(lockstep(deps, 3).map((d, i) => grant(d.db, name, es[i] as (typeof es)[0], 2)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await read(name)).inUse).toBe(2);
  });

  it('a grant to an attempt that already holds is refused (two entries of one attempt, as two gates of it can leave)', async () => {
    const name = await pool(3);
    const [e1, e2] = [entry(holder(1), clock.t), entry(holder(1), clock.t + 1)];
    await enqueue(deps.db, name, e1, clock.t);
    await enqueue(deps.db, name, e2, clock.t);
    expect(await grant(deps.db, name, e1, 3)).toBe(true);
    expect(await grant(deps.db, name, e2, 3)).toBe(false);
    expect((await read(name)).inUse).toBe(1);
  });

  it('four racing releases of one holder: one frees the slot', async () => {
    const name = await pool(2);
    await acquire(deps.db, name, holder(1), 2, clock.t);
    const got = await Promise.all(lockstep(deps, 4).map((d) => release(d.db, name, holder(1))));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await read(name)).inUse).toBe(0);
    expect(await release(deps.db, name, holder(2))).toBe(false);
  });

  it('no line is started for a pool that does not exist: the entry would wait for a size no pool has', async () => {
    const name = `missing${++n}`;
    expect(await enqueue(deps.db, name, entry(holder(1)), clock.t)).toBe(false);
    expect(await getPool(deps.db, name)).toBeUndefined();
  });

  it('a grant from a stale view of the line is refused: the entry was dropped, or granted and released since', async () => {
    const name = await pool(2);
    const dropped = entry(holder(1));
    await enqueue(deps.db, name, dropped, clock.t);
    await dropWaiting(deps.db, name, dropped.entry);
    expect(await grant(deps.db, name, dropped, 2)).toBe(false);
    const done = entry(holder(2));
    await enqueue(deps.db, name, done, clock.t);
    expect(await grant(deps.db, name, done, 2)).toBe(true);
    await release(deps.db, name, holder(2));
    expect(await grant(deps.db, name, done, 2)).toBe(false);
    const p = await read(name);
    expect(p.inUse).toBe(0);
    expect(p.holders).toBeUndefined();
  });

  it('a waiting entry is dropped once', async () => {
    const name = await pool(1);
    const e = entry(holder(1));
    await enqueue(deps.db, name, e, clock.t);
    const got = await Promise.all(lockstep(deps, 3).map((d) => dropWaiting(d.db, name, e.entry)));
    expect(got.filter(Boolean)).toHaveLength(1);
  });

  it("the sweeper's next check is set once from the due time it read, and only an idle pool leaves the index", async () => {
    const name = await pool(1);
    await acquire(deps.db, name, holder(1), 1, clock.t);
    const p = await read(name);
    const got = await Promise.all(lockstep(deps, 3).map((d) => rescheduleCheck(d.db, name, p, clock.t + 5)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await read(name)).dueAt).toBe(clock.t + 5);
    await release(deps.db, name, holder(1));
    const idle = await read(name);
    expect(await rescheduleCheck(deps.db, name, idle, clock.t + 9)).toBe(true);
    expect((await read(name)).dueAt).toBeUndefined();
  });

  it('two sweepers retiring one idle pool from the same view: one takes it out of the due index', async () => {
    const name = await pool(1);
    await acquire(deps.db, name, holder(1), 1, clock.t);
    await release(deps.db, name, holder(1));
    const idle = await read(name);
    const got = await Promise.all(lockstep(deps, 2).map((d) => rescheduleCheck(d.db, name, idle, clock.t + 5)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await read(name)).dueAt).toBeUndefined();
  });

  for (const [what, arrive] of [
    ['an acquire', (d: Deps, name: string) => acquire(d.db, name, holder(7), 1, clock.t)],
    ['an enqueue', (d: Deps, name: string) => enqueue(d.db, name, entry(holder(7)), clock.t)],
  ] as const) {
    it(`a sweeper that found the pool idle keeps it due when ${what} lands between its two writes (the slot would never be checked)`, async () => {
      const name = await pool(1);
      await acquire(deps.db, name, holder(1), 1, clock.t);
      await release(deps.db, name, holder(1));
      const idle = await read(name);
      // The sweeper's first write (the busy check) fails: nothing holds. It stalls before its second.
      const stall = gate();
      const sweeper = pausing(deps, (i) => (i === 1 ? stall.wait() : undefined));
      const retiring = rescheduleCheck(sweeper.db, name, idle, clock.t + 5);
      await stall.reached;
      expect(await arrive(deps, name)).toBe(true);
      stall.open();
      expect(await retiring).toBe(false);
      expect((await read(name)).dueAt).toBe(idle.dueAt);
    });
  }

  it('six workers gating at once on a pool of 2 (each read room): two run, four wait in the line', async () => {
    const name = await pool(2);
    const spec: TaskSpec = {
      type: 'noop',
      after: [],
      retry: { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 },
      pool: name,
      config: {},
    };
    const task = (i: number) => ({ runId: `g${i}`, name: 't', attempt: 1, status: 'running', fence: 1 }) as unknown as TaskItem;
    const got = await Promise.all(lockstep(deps, 6).map((d, i) => poolGate(d, spec, task(i))));
    expect(got.filter((g) => g === undefined)).toHaveLength(2);
    expect(got.filter((g) => g?.kind === 'suspend')).toHaveLength(4);
    expect((await read(name)).inUse).toBe(2);
  });
});
