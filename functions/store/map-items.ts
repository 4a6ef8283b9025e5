import type { Db } from './db.js';
import { whereEquals } from './expr.js';
import { keys, type TaskItem } from './items.js';
import { MAP_ITEM_PREFIX, mapItemName, mapPartition } from './map-names.js';

/**
 * Map items and their control item. The items of one map attempt are created up front, `blocked`, one
 * conditional put each (a repeat after a crash finds them and writes nothing); the control item comes
 * last, so its existence means every item exists. The control item holds the counters and one slot
 * attribute per unit of concurrency: an item starts only after taking a free slot for its index (one
 * conditional write that also moves `next`), and gives the slot back once it is terminal (one conditional
 * write that also counts how it ended, or, while items remain, hands it straight to the next item in that
 * same write). Every write is a single-item conditional update, so the counters are exact under duplicate
 * deliveries and crashes, and the control item never grows with the items.
 */

/** A map attempt's control item. `slot<k>` holds the index of the item running in slot k (absent: free). */
export interface MapControl {
  readonly runId: string;
  readonly map: string;
  readonly attempt: number;
  readonly total: number;
  readonly concurrency: number;
  readonly tolerated: number;
  /** The next index to start: items below it have taken a slot. */
  readonly next: number;
  /** Items whose slot was given back (terminal), and of them those that succeeded, failed, or ended otherwise. */
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly other: number;
  readonly [slot: `slot${number}`]: number | undefined;
}

/**
 * A map item as stored: a task item with its index and its item value. `carried`: the earlier map
 * attempt whose succeeded item this one keeps (a recovered map runs only the items that did not succeed).
 */
export type MapItem = TaskItem & { readonly index: number; readonly item?: unknown; readonly slot?: number; readonly carried?: number };

/** How an item ended, as its slot's release counts it. */
export type ItemOutcome = 'succeeded' | 'failed' | 'other';

const slotAttr = (k: number) => `slot${k}`;

/**
 * Creates item `index` of a map attempt, blocked, holding its value; or, with `carry`, already succeeded
 * with the output an earlier attempt's item produced (it holds a slot for a moment and never runs).
 * False when it already exists.
 */
export function createItem(
  db: Db,
  runId: string,
  map: string,
  attempt: number,
  index: number,
  value: unknown,
  now: number,
  carry?: { readonly from: number; readonly output: unknown },
) {
  const name = mapItemName(map, attempt, index);
  // TTL from creation: an item the map never starts (it failed early, its run was cancelled) is still reclaimed.
  return db.create({
    ...keys.task(runId, name),
    kind: 'task',
    runId,
    name,
    status: carry ? 'succeeded' : 'blocked',
    attempt: 0,
    index,
    item: value,
    ...(carry && { carried: carry.from, output: carry.output, endedAt: now }),
    ...db.expiry(now),
  });
}

/** Creates the control item once every item exists. False when it already exists. */
export function createControl(db: Db, c: Pick<MapControl, 'runId' | 'map' | 'attempt' | 'total' | 'concurrency' | 'tolerated'>) {
  const key = keys.mapControl(c.runId, c.map, c.attempt);
  return db.create({ ...key, kind: 'mapctl', ...c, next: 0, done: 0, succeeded: 0, failed: 0, other: 0 });
}

export const getControl = (db: Db, runId: string, map: string, attempt: number) => db.get<MapControl>(keys.mapControl(runId, map, attempt));

/**
 * Takes free slot `slot` for item `index`, the next to start: only while `next` is still `index`, the slot
 * is free, items remain, and failures have not passed the tolerated count (a failing map starts no more).
 */
export function takeSlot(db: Db, ctl: Pick<MapControl, 'runId' | 'map' | 'attempt'>, slot: number, index: number) {
  return db.update<MapControl>(
    keys.mapControl(ctl.runId, ctl.map, ctl.attempt),
    { set: { next: index + 1, [slotAttr(slot)]: index } },
    {
      expr: '#n = :i AND #n < #t AND attribute_not_exists(#s) AND #f <= #tol',
      names: { '#n': 'next', '#t': 'total', '#s': slotAttr(slot), '#f': 'failed', '#tol': 'tolerated' },
      values: { ':i': index },
    },
  );
}

/** Gives back the slot held by item `index` and counts how it ended: once per item, whoever calls it. */
export function releaseSlot(db: Db, ctl: Pick<MapControl, 'runId' | 'map' | 'attempt'>, slot: number, index: number, outcome: ItemOutcome) {
  return db.update<MapControl>(
    keys.mapControl(ctl.runId, ctl.map, ctl.attempt),
    { add: { done: 1, [outcome]: 1 }, remove: [slotAttr(slot)] },
    whereEquals({ [slotAttr(slot)]: index }),
  );
}

/**
 * Gives the slot held by item `index` straight to the next item to start, in one write with no read of
 * `next`: counts how `index` ended, gives `slot` the old `next` and moves `next` on (DynamoDB evaluates
 * every action against the item as it was). Only while the slot holds `index`, an item remains, and
 * failures, this ending included, stay within the tolerated count; otherwise undefined, and the caller
 * gives the slot back with `releaseSlot`. The new holder is the result's `slot<k>`. Racing callers for
 * different slots never collide on `next`, so items that end together hand over without retries.
 */
export function handOver(db: Db, ctl: Pick<MapControl, 'runId' | 'map' | 'attempt'>, slot: number, index: number, outcome: ItemOutcome) {
  return db.update<MapControl>(
    keys.mapControl(ctl.runId, ctl.map, ctl.attempt),
    { copy: { [slotAttr(slot)]: 'next' }, add: { next: 1, done: 1, [outcome]: 1 } },
    {
      expr: `#s = :i AND #n < #t AND #f ${outcome === 'failed' ? '<' : '<='} #tol`,
      names: { '#s': slotAttr(slot), '#n': 'next', '#t': 'total', '#f': 'failed', '#tol': 'tolerated' },
      values: { ':i': index },
    },
  );
}

/**
 * blocked → queued for an item that holds slot `slot`: its first attempt. The status is the whole
 * guard: this write is the only one that gives an item its `slot`, and it moves the item out of
 * `blocked` at once, so no blocked item has a slot (a check for one could never decide).
 */
export function startItem(db: Db, runId: string, name: string, slot: number, now: number, timeoutMs?: number) {
  const key = keys.task(runId, name);
  return db.update<MapItem>(
    key,
    {
      set: { status: 'queued', slot, failures: 0, queuedAt: now, timeoutMs, ...db.due(key, now + db.config.leaseMs) },
      setIfMissing: { fence: 0 },
      add: { attempt: 1 },
    },
    whereEquals({ status: 'blocked' }),
  );
}

/** The slot an item holds according to `ctl`, or undefined. */
export function slotOf(ctl: MapControl, index: number): number | undefined {
  for (let k = 0; k < ctl.concurrency; k++) if (ctl[`slot${k}`] === index) return k;
  return undefined;
}

/** The free slots of `ctl`. */
export function freeSlots(ctl: MapControl): number[] {
  const out: number[] = [];
  for (let k = 0; k < ctl.concurrency; k++) if (ctl[`slot${k}`] === undefined) out.push(k);
  return out;
}

/** The item indexes holding slots in `ctl`, with their slot. */
export function heldSlots(ctl: MapControl): { slot: number; index: number }[] {
  const out: { slot: number; index: number }[] = [];
  for (let k = 0; k < ctl.concurrency; k++) {
    const i = ctl[`slot${k}`];
    if (i !== undefined) out.push({ slot: k, index: i });
  }
  return out;
}

/** One page of a map attempt's items, in item order; `cursor` is the index to start after. */
export async function listItems(db: Db, runId: string, map: string, attempt: number, opts: { limit: number; after?: number }) {
  // The control item (`CTL`) sorts before every `ITEM#` key, so `sk >` reads items only.
  const from = opts.after === undefined ? MAP_ITEM_PREFIX : keys.task(runId, mapItemName(map, attempt, opts.after)).sk;
  const r = await db.query<MapItem>({
    KeyConditionExpression: 'pk = :pk AND sk > :from',
    ExpressionAttributeValues: { ':pk': mapPartition(runId, map, attempt), ':from': from },
    ConsistentRead: true,
    Limit: opts.limit,
  });
  return { items: r.items, more: r.next !== undefined };
}

/** Every item of a map attempt, in item order (to collect the outputs once, when the map ends). */
export const allItems = (db: Db, runId: string, map: string, attempt: number) =>
  db.queryAll<MapItem>(mapPartition(runId, map, attempt), MAP_ITEM_PREFIX);
