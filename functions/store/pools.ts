import type { Db, Key } from './db.js';
import { and, type Condition } from './expr.js';
import { TABLE } from './table.js';

/**
 * Pools (task groups): a semaphore per pool, shared by every workflow and run, built from one item.
 *
 * The pool item holds `slots` (the size), `inUse` (a counter), `holders` (a string set of holder ids,
 * one per attempt holding slots) and `waiting` (a string set of waiting entries that sort in wake-up
 * order). Every change is one conditional update of that item:
 * - acquire: `inUse <= slots - k`, nobody waiting (FIFO: a newcomer never overtakes the line), and the
 *   holder not already in `holders` (one grant per holder); ADD `inUse` k and the holder.
 * - enqueue: the holder is not holding; ADD its entry to `waiting`.
 * - grant: the entry is still waiting and there is room; move it from `waiting` to `holders`.
 * - release: the holder is in `holders`; DELETE it and ADD `inUse` -k. Idempotent.
 * The `slots` the caller read is part of each acquire and grant condition, so a resize in between
 * makes the caller read again instead of acting on a stale size.
 *
 * While anything holds or waits, the item sits in the due index (`dueAt`): the sweeper then checks the
 * holders against their tasks and frees the slots of attempts that ended without releasing (a worker
 * SIGKILLed between recording its outcome and releasing), and wakes the line.
 */

/** The pool item. */
export interface PoolItem {
  readonly kind: 'pool';
  readonly name: string;
  readonly slots: number;
  readonly inUse: number;
  readonly holders?: Set<string>;
  readonly waiting?: Set<string>;
  readonly dueAt?: number;
  readonly createdAt?: number;
  readonly updatedAt?: number;
}

/** One attempt holding slots of a pool: which attempt, and how many slots (`poolSlots`). */
export interface Holder {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  readonly slots: number;
}

/** A waiting entry: the holder it becomes, and the order it is woken in. */
export interface WaitingEntry extends Holder {
  readonly entry: string;
}

/** Highest `priority` a task may have (and, negated, the lowest). */
export const MAX_POOL_PRIORITY = 1000;

const poolKey = (name: string): Key => ({ pk: `POOL#${name}`, sk: 'POOL' });
const registryKey = (name: string): Key => ({ pk: 'POOLS', sk: name });

/** The holder id of an attempt: run ids and task names never contain `/`. */
export const holderId = (h: Holder): string => `${h.runId}/${h.task}/${h.attempt}/${h.slots}`;

/** Parses a holder id (the tail of a waiting entry). */
export function parseHolder(id: string): Holder | undefined {
  const [runId, task, attempt, slots] = id.split('/');
  if (!runId || !task || attempt === undefined || slots === undefined) return undefined;
  return { runId, task, attempt: Number(attempt), slots: Number(slots) };
}

/**
 * The waiting entry of a holder: higher `priority` first, then first come first served (by `at`, the
 * time it joined the line), as plain string order.
 */
export function waitingEntry(h: Holder, priority: number, at: number): string {
  const rank = String(MAX_POOL_PRIORITY - priority).padStart(4, '0');
  return `${rank}|${String(Math.round(at)).padStart(15, '0')}|${holderId(h)}`;
}

/** Parses a waiting entry. */
export function parseEntry(entry: string): WaitingEntry | undefined {
  const h = parseHolder(entry.split('|')[2] ?? '');
  return h && { ...h, entry };
}

/** The waiting entries in wake-up order. */
export const line = (p: PoolItem | undefined): WaitingEntry[] =>
  [...(p?.waiting ?? [])]
    .sort()
    .map(parseEntry)
    .filter((e) => e !== undefined);

/** Creates a pool or changes its size. `inUse` and the holders are kept: a smaller pool drains. */
export async function putPool(db: Db, name: string, slots: number, now: number): Promise<PoolItem | undefined> {
  // Unconditional: the size is configuration, last writer wins; the counters are left as they are.
  const p = await db.update<PoolItem>(poolKey(name), {
    set: { kind: 'pool', name, slots, updatedAt: now },
    setIfMissing: { inUse: 0, createdAt: now },
  });
  await db.update(registryKey(name), { set: { kind: 'pool-name', name } });
  return p;
}

export const getPool = (db: Db, name: string) => db.get<PoolItem>(poolKey(name));

/** Every pool, by name. */
export async function listPools(db: Db): Promise<PoolItem[]> {
  const names = await db.queryAll<{ name: string }>('POOLS');
  const pools = await Promise.all(names.map((n) => getPool(db, n.name)));
  return pools.filter((p) => p !== undefined);
}

/** There is room for `k` more slots in a pool of `slots`, as read (`#slots`, `#in`). */
function room(slots: number, k: number): Condition {
  return {
    expr: '#slots = :slots AND #in <= :max',
    names: { '#slots': 'slots', '#in': 'inUse' },
    values: { ':slots': slots, ':max': slots - k },
  };
}

const notHolding = (holder: string): Condition => ({
  expr: 'NOT contains(#h, :holder)',
  names: { '#h': 'holders' },
  values: { ':holder': holder },
});

/** Puts the pool in the due index for the sweeper's check, unless it is already there. */
const dueIfMissing = (db: Db, name: string, now: number) => db.due(poolKey(name), now + db.config.recheckMs);

/** Takes `h.slots` slots for `h` if there is room and nobody waits. False otherwise. */
export async function acquire(db: Db, name: string, h: Holder, slots: number, now: number): Promise<boolean> {
  const id = holderId(h);
  const r = await db.update<PoolItem>(
    poolKey(name),
    { add: { inUse: h.slots, holders: new Set([id]) }, setIfMissing: dueIfMissing(db, name, now) },
    and(room(slots, h.slots), notHolding(id), { expr: 'attribute_not_exists(#w)', names: { '#w': 'waiting' } }),
  );
  return r !== undefined;
}

/** Joins the line (idempotent for the same entry); refused while the holder holds slots. */
export async function enqueue(db: Db, name: string, entry: WaitingEntry, now: number): Promise<boolean> {
  const r = await db.update<PoolItem>(
    poolKey(name),
    { add: { waiting: new Set([entry.entry]) }, setIfMissing: dueIfMissing(db, name, now) },
    and({ expr: 'attribute_exists(#slots)', names: { '#slots': 'slots' } }, notHolding(holderId(entry))),
  );
  return r !== undefined;
}

/** Moves a waiting entry to the holders, if it still waits and there is room. */
export async function grant(db: Db, name: string, entry: WaitingEntry, slots: number): Promise<boolean> {
  const id = holderId(entry);
  const r = await db.update<PoolItem>(
    poolKey(name),
    { add: { inUse: entry.slots, holders: new Set([id]) }, delete: { waiting: new Set([entry.entry]) } },
    and(room(slots, entry.slots), notHolding(id), {
      expr: 'contains(#w, :entry)',
      names: { '#w': 'waiting' },
      values: { ':entry': entry.entry },
    }),
  );
  return r !== undefined;
}

/** Drops a waiting entry whose task no longer waits (ended, or holds already). */
export async function dropWaiting(db: Db, name: string, entry: string): Promise<boolean> {
  const r = await db.update(
    poolKey(name),
    { delete: { waiting: new Set([entry]) } },
    { expr: 'contains(#w, :entry)', names: { '#w': 'waiting' }, values: { ':entry': entry } },
  );
  return r !== undefined;
}

/** Frees the slots of `h`. Idempotent: false when it held none. */
export async function release(db: Db, name: string, h: Holder): Promise<boolean> {
  const id = holderId(h);
  const r = await db.update(
    poolKey(name),
    { add: { inUse: -h.slots }, delete: { holders: new Set([id]) } },
    { expr: 'contains(#h, :holder)', names: { '#h': 'holders' }, values: { ':holder': id } },
  );
  return r !== undefined;
}

/**
 * After the sweeper's check: the next check at `at` while anything holds or waits, else out of the
 * due index. Conditional on the due time it read, so that two sweepers move it once.
 */
export async function rescheduleCheck(db: Db, name: string, read: PoolItem, at: number): Promise<boolean> {
  const key = poolKey(name);
  const same: Condition = { expr: '#d = :d', names: { '#d': TABLE.dueAt }, values: { ':d': read.dueAt } };
  const busy = await db.update(
    key,
    { set: db.due(key, at) },
    and(same, { expr: 'attribute_exists(#h) OR attribute_exists(#w)', names: { '#h': 'holders', '#w': 'waiting' } }),
  );
  if (busy) return true;
  const idle = await db.update(
    key,
    { remove: [TABLE.dueAt, TABLE.dueShard] },
    and(same, { expr: 'attribute_not_exists(#h) AND attribute_not_exists(#w)', names: { '#h': 'holders', '#w': 'waiting' } }),
  );
  return idle !== undefined;
}
