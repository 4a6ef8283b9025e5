import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import type { TaskItem } from '../../functions/store/items.js';
import {
  createControl,
  createItem,
  getControl,
  handOver,
  heldSlots,
  type MapControl,
  releaseSlot,
  startItem,
  takeSlot,
} from '../../functions/store/map-items.js';
import { mapItemName } from '../../functions/store/map-names.js';
import { cancelTask } from '../../functions/store/task-operations.js';
import { getTask } from '../../functions/store/tasks.js';
import { Clock, guardDeps, lockstep } from './support.js';

/**
 * The map's conditional writes: each test races copies of one write (every copy paused before it
 * writes until all have read, see `lockstep`) and checks that the condition, not the caller, decides.
 */

const clock = new Clock();
let deps: Deps;
let n = 0;
const RUN = 'map-guards';

beforeAll(async () => {
  deps = await guardDeps(clock);
});

/** A fresh map attempt with `total` blocked items and its control item. */
async function map(total: number, concurrency: number, tolerated = 0) {
  const m = `m${++n}`;
  for (let i = 0; i < total; i++) await createItem(deps.db, RUN, m, 1, i, { i }, clock.t);
  await createControl(deps.db, { runId: RUN, map: m, attempt: 1, total, concurrency, tolerated });
  return (await getControl(deps.db, RUN, m, 1)) as MapControl;
}

const race = <T>(k: number, f: (d: Deps) => Promise<T>) => Promise.all(lockstep(deps, k).map(f));

describe('map items and control item', () => {
  it('eight creators of one item at once: one put lands, the item keeps its one value', async () => {
    const m = `c${++n}`;
    const got = await race(8, (d) => createItem(d.db, RUN, m, 1, 0, { by: 'any' }, clock.t));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getTask(deps.db, RUN, mapItemName(m, 1, 0))).toMatchObject({ status: 'blocked', index: 0, item: { by: 'any' } });
  });

  it('eight creators of the control item: one lands, counters start at zero once', async () => {
    const m = `k${++n}`;
    const got = await race(8, (d) => createControl(d.db, { runId: RUN, map: m, attempt: 1, total: 3, concurrency: 2, tolerated: 0 }));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getControl(deps.db, RUN, m, 1)).toMatchObject({ total: 3, next: 0, done: 0 });
  });

  it('eight callers take slot 0 for item 0: one holds it, next moves once', async () => {
    const c = await map(3, 2);
    const got = await race(8, (d) => takeSlot(d.db, c, 0, 0));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getControl(deps.db, RUN, c.map, 1)).toMatchObject({ next: 1, slot0: 0 });
  });

  it('callers taking different free slots for the same item: one wins (next decides), so an item never holds two slots', async () => {
    const c = await map(3, 4);
    let k = 0;
    const got = await race(4, (d) => takeSlot(d.db, c, k++, 0));
    expect(got.filter(Boolean)).toHaveLength(1);
    const after = (await getControl(deps.db, RUN, c.map, 1)) as MapControl;
    expect(heldSlots(after)).toHaveLength(1);
    expect(after.next).toBe(1);
  });

  it('no slot is taken past the last item, or once failures pass the tolerated count', async () => {
    const c = await map(1, 2);
    expect(await takeSlot(deps.db, c, 0, 0)).toBeDefined();
    expect(await takeSlot(deps.db, c, 1, 1)).toBeUndefined(); // next = total
    const f = await map(3, 2, 0);
    await takeSlot(deps.db, f, 0, 0);
    await releaseSlot(deps.db, f, 0, 0, 'failed');
    expect(await takeSlot(deps.db, f, 0, 1)).toBeUndefined(); // failed 1 > tolerated 0
  });

  it('a full map refuses a slot that is held: concurrency holds whoever calls', async () => {
    const c = await map(5, 2);
    await takeSlot(deps.db, c, 0, 0);
    await takeSlot(deps.db, c, 1, 1);
    const got = await race(6, (d) => takeSlot(d.db, c, 0, 2));
    expect(got.filter(Boolean)).toHaveLength(0);
    expect(heldSlots((await getControl(deps.db, RUN, c.map, 1)) as MapControl)).toHaveLength(2);
  });

  it('eight releases of one slot at once (duplicate deliveries of an item end): counted once', async () => {
    const c = await map(2, 2);
    await takeSlot(deps.db, c, 1, 0);
    const got = await race(8, (d) => releaseSlot(d.db, c, 1, 0, 'succeeded'));
    expect(got.filter(Boolean)).toHaveLength(1);
    const after = (await getControl(deps.db, RUN, c.map, 1)) as MapControl;
    expect(after).toMatchObject({ done: 1, succeeded: 1, failed: 0 });
    expect(after.slot1).toBeUndefined();
  });

  it('a release by a stale view (the slot now holds another item) changes nothing', async () => {
    const c = await map(3, 1);
    await takeSlot(deps.db, c, 0, 0);
    await releaseSlot(deps.db, c, 0, 0, 'succeeded');
    await takeSlot(deps.db, c, 0, 1);
    expect(await releaseSlot(deps.db, c, 0, 0, 'succeeded')).toBeUndefined();
    expect(await getControl(deps.db, RUN, c.map, 1)).toMatchObject({ done: 1, slot0: 1 });
  });

  it('eight hand-overs of one slot at once (duplicate deliveries of an item end): one lands, next moves once, the ending counts once', async () => {
    const c = await map(4, 2);
    await takeSlot(deps.db, c, 1, 0);
    const got = await race(8, (d) => handOver(d.db, c, 1, 0, 'succeeded'));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getControl(deps.db, RUN, c.map, 1)).toMatchObject({ next: 2, slot1: 1, done: 1, succeeded: 1 });
    // The losers' fallback (a release by the same stale view) finds the slot handed on and changes nothing.
    expect(await releaseSlot(deps.db, c, 1, 0, 'succeeded')).toBeUndefined();
  });

  it('items ending together hand over their own slots side by side: every write lands, each slot gets its own next item', async () => {
    const c = await map(10, 4);
    for (let k = 0; k < 4; k++) await takeSlot(deps.db, (await getControl(deps.db, RUN, c.map, 1)) as MapControl, k, k);
    let k = 0;
    const got = await race(4, (d) => {
      const slot = k++;
      return handOver(d.db, c, slot, slot, 'succeeded');
    });
    expect(got.filter(Boolean)).toHaveLength(4);
    const after = (await getControl(deps.db, RUN, c.map, 1)) as MapControl;
    expect(after).toMatchObject({ next: 8, done: 4, succeeded: 4 });
    expect(
      heldSlots(after)
        .map((h) => h.index)
        .sort(),
    ).toEqual([4, 5, 6, 7]);
  });

  it('no hand-over past the last item, or when this ending takes failures past the tolerated count; a release still counts it', async () => {
    const c = await map(1, 1);
    await takeSlot(deps.db, c, 0, 0);
    expect(await handOver(deps.db, c, 0, 0, 'succeeded')).toBeUndefined(); // next = total
    expect(await getControl(deps.db, RUN, c.map, 1)).toMatchObject({ next: 1, done: 0, slot0: 0 });
    const f = await map(3, 1, 1);
    await takeSlot(deps.db, f, 0, 0);
    expect(await handOver(deps.db, f, 0, 0, 'failed')).toMatchObject({ failed: 1, slot0: 1 }); // 1 failure is tolerated
    expect(await handOver(deps.db, f, 0, 1, 'failed')).toBeUndefined(); // a second is not
    expect(await releaseSlot(deps.db, f, 0, 1, 'failed')).toMatchObject({ failed: 2, done: 2, next: 2 });
  });

  it('a hand-over by a stale view (the slot holds another item now) changes nothing', async () => {
    const c = await map(4, 1);
    await takeSlot(deps.db, c, 0, 0);
    await handOver(deps.db, c, 0, 0, 'succeeded');
    expect(await handOver(deps.db, c, 0, 0, 'succeeded')).toBeUndefined();
    expect(await getControl(deps.db, RUN, c.map, 1)).toMatchObject({ next: 2, done: 1, slot0: 1 });
  });

  it('eight starters of one item at once: one queues it, attempt 1, with its slot', async () => {
    const c = await map(1, 1);
    const name = mapItemName(c.map, 1, 0);
    const got = await race(8, (d) => startItem(d.db, RUN, name, 0, clock.t));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getTask(deps.db, RUN, name)).toMatchObject({ status: 'queued', attempt: 1, slot: 0, fence: 0 });
    expect(await startItem(deps.db, RUN, name, 0, clock.t)).toBeUndefined();
  });

  it('an item cancelled while blocked (its run was cancelled) is not started by a filler that took its slot before', async () => {
    const c = await map(1, 1);
    const name = mapItemName(c.map, 1, 0);
    const blocked = (await getTask(deps.db, RUN, name)) as TaskItem;
    await takeSlot(deps.db, c, 0, 0);
    await cancelTask(deps.db, blocked, clock.t, { reason: 'cancelled', message: 'run cancelled' });
    expect(await startItem(deps.db, RUN, name, 0, clock.t)).toBeUndefined();
    expect(await getTask(deps.db, RUN, name)).toMatchObject({ status: 'cancelled', attempt: 0 });
  });
});
