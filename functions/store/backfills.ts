import type { CronSpec } from '../engine/schedule/index.js';
import type { Db, Key } from './db.js';
import { whereEquals } from './expr.js';
import { DUE_ATTRIBUTES } from './table.js';

/**
 * Backfills (DolphinScheduler's "complement"): `BACKFILL#<id>` / `BACKFILL`. The item holds the fire
 * times to run, a cursor `next` (index of the first time not yet reserved) and string sets of run ids:
 * `inflight` (reserved, not yet ended), `succeeded`, `failed`, `skipped`, `existing` (ran before the
 * backfill). A fire time is *reserved* (cursor and `inflight` in one conditional write, which also
 * enforces the mode's limit) before its run is created with a conditional put under a deterministic
 * id, so each fire time gets one run whoever gets there, and a crash between the two writes is
 * finished by the next pump or by the sweeper (the item sits in the due index while it has work).
 */

export const backfillKey = (id: string): Key => ({ pk: `BACKFILL#${id}`, sk: 'BACKFILL' });

export type BackfillStatus = 'running' | 'completed' | 'cancelled';
export type BackfillOutcome = 'succeeded' | 'failed' | 'skipped' | 'existing';
export const OUTCOMES: readonly BackfillOutcome[] = ['succeeded', 'failed', 'skipped', 'existing'];

export interface BackfillItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'backfill';
  readonly backfillId: string;
  readonly workflow: string;
  readonly scheduleId?: string;
  readonly cron: string;
  readonly timezone: string;
  readonly spec: CronSpec;
  readonly rangeStart: number;
  readonly rangeEnd: number;
  /** Fire times (epoch ms), ascending. */
  readonly times: number[];
  readonly mode: 'serial' | 'parallel';
  /** Runs in flight at most (1 for serial). */
  readonly parallelism: number;
  readonly rerun: boolean;
  /** What run ids derive from: the schedule's own key when not re-running (shared ids = already ran). */
  readonly runKey: string;
  readonly params: Record<string, unknown>;
  readonly version?: number;
  readonly status: BackfillStatus;
  readonly next: number;
  readonly inflight?: Set<string>;
  readonly succeeded?: Set<string>;
  readonly failed?: Set<string>;
  readonly skipped?: Set<string>;
  readonly existing?: Set<string>;
  readonly errors?: { readonly fireTime: number; readonly message: string }[];
  readonly idempotencyKey?: string;
  readonly requestDigest: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly endedAt?: number;
  readonly dueAt?: number;
  readonly dueShard?: string;
}

export type NewBackfill = Omit<
  BackfillItem,
  | 'pk'
  | 'sk'
  | 'kind'
  | 'status'
  | 'next'
  | 'inflight'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'existing'
  | 'errors'
  | 'updatedAt'
  | 'dueAt'
  | 'dueShard'
>;

export const getBackfill = (db: Db, id: string) => db.get<BackfillItem>(backfillKey(id));

/** Creates the backfill, due at once (so the sweeper starts it if the caller dies). False if the id exists. */
export function createBackfill(db: Db, b: NewBackfill): Promise<boolean> {
  const key = backfillKey(b.backfillId);
  return db.create({ ...key, kind: 'backfill', ...b, status: 'running', next: 0, updatedAt: b.createdAt, ...db.due(key, b.createdAt) });
}

/** Reserves fire time `n` for `runId`: only from cursor `n`, while running and below `limit` in flight. */
export function reserve(db: Db, b: BackfillItem, n: number, runId: string, limit: number, now: number) {
  return db.update<BackfillItem>(
    backfillKey(b.backfillId),
    { set: { next: n + 1, updatedAt: now }, add: { inflight: new Set([runId]) } },
    {
      expr: '#s = :running AND #n = :n AND (attribute_not_exists(#i) OR size(#i) < :limit)',
      names: { '#n': 'next', '#i': 'inflight', '#s': 'status' },
      values: { ':n': n, ':running': 'running', ':limit': limit },
    },
  );
}

/** Moves a run from `inflight` to its outcome set. Idempotent: only while it is in flight. */
export function recordOutcome(
  db: Db,
  id: string,
  runId: string,
  outcome: BackfillOutcome,
  now: number,
  error?: { fireTime: number; message: string },
) {
  return db.update<BackfillItem>(
    backfillKey(id),
    {
      set: { updatedAt: now },
      ...(error ? { append: { errors: [error] } } : {}),
      delete: { inflight: new Set([runId]) },
      add: { [outcome]: new Set([runId]) },
    },
    { expr: 'contains(#i, :rid)', names: { '#i': 'inflight' }, values: { ':rid': runId } },
  );
}

/** running → completed, once every fire time was reserved and every run ended. Leaves the due index. */
export function complete(db: Db, b: BackfillItem, now: number) {
  return db.update<BackfillItem>(
    backfillKey(b.backfillId),
    { set: { status: 'completed', updatedAt: now, endedAt: now }, remove: DUE_ATTRIBUTES },
    {
      expr: '#s = :running AND #n = :total AND attribute_not_exists(#i)',
      names: { '#s': 'status', '#n': 'next', '#i': 'inflight' },
      values: { ':running': 'running', ':total': b.times.length },
    },
  );
}

/** running → cancelled: no new fire time is reserved; runs in flight finish and are still counted. */
export function cancel(db: Db, id: string, now: number) {
  return db.update<BackfillItem>(
    backfillKey(id),
    { set: { status: 'cancelled', updatedAt: now, endedAt: now } },
    whereEquals({ status: 'running' }),
  );
}

/** The sweeper's next look at the backfill (or none, when nothing is left to drive). */
export function setBackfillDue(db: Db, b: BackfillItem, at: number | undefined) {
  const key = backfillKey(b.backfillId);
  return db.update<BackfillItem>(
    key,
    at === undefined ? { remove: DUE_ATTRIBUTES } : { set: db.due(key, at) },
    whereEquals({ dueAt: b.dueAt }),
  );
}
