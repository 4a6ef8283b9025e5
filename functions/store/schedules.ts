import type { CronSpec, MisfirePolicy } from '../engine/schedule/index.js';
import type { Db, Key } from './db.js';
import { and, whereEquals } from './expr.js';
import type { RunItem } from './items.js';
import { DUE_ATTRIBUTES } from './table.js';

/**
 * Schedules, and the per-workflow concurrency gate. Every change is a conditional write on one item.
 *
 * Keys (partitions `SCHED#` and `CONC#`):
 * - schedule: `SCHED#<workflow>` / `SCHED#<id>`. While enabled and not past its window it carries
 *   `dueAt` (= its next fire time) and `dueShard`, which puts it in the sparse sharded `due` index
 *   that the sweeper already reads: the scheduler finds due schedules there, never by a scan.
 * - concurrency gate: `CONC#<workflow>` / `CONC`, with two string sets: `active` (run ids holding a
 *   slot) and `waiting` (`<createdAt, 15 digits>#<runId>` of pending runs; sorted = oldest first).
 *   ADD and DELETE on a set are idempotent, so a repeated event cannot take or free a slot twice.
 */

export const scheduleKeys = {
  schedule: (workflow: string, id: string): Key => ({ pk: `SCHED#${workflow}`, sk: `SCHED#${id}` }),
  gate: (workflow: string): Key => ({ pk: `CONC#${workflow}`, sk: 'CONC' }),
};

/** The partition prefix of schedule items (to filter the due index to schedules). */
export const SCHEDULE_PK_PREFIX = 'SCHED#';

export interface LastFire {
  readonly runId: string;
  readonly fireTime: number;
  readonly created: boolean;
  readonly misfired?: boolean;
  readonly misfiredCount?: number;
}

export interface ScheduleItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'schedule';
  readonly workflow: string;
  readonly scheduleId: string;
  readonly cron: string;
  readonly timezone: string;
  /** The parsed cron (plain data), what the tick evaluates. */
  readonly spec: CronSpec;
  /** Window, epoch ms, both inclusive. */
  readonly start?: number;
  readonly end?: number;
  readonly enabled: boolean;
  readonly misfirePolicy: MisfirePolicy;
  /** Most missed times `all` fires after an outage or a pause (the latest ones). */
  readonly misfireCap: number;
  /** Run params, with `${schedule.*}` templates rendered per fire time. */
  readonly params: Record<string, unknown>;
  /** Pinned definition version; the latest at fire time when absent. */
  readonly version?: number;
  /** Everything up to this instant has been handled (fired, or dropped by the misfire policy). */
  readonly lastFireTime: number;
  /** Bumped by every change made through the API (PUT, pause, resume): a tick that read an older one does not advance. */
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastFire?: LastFire;
  readonly lastError?: { readonly at: number; readonly fireTime?: number; readonly message: string };
  readonly dueAt?: number;
  readonly dueShard?: string;
}

export type ScheduleFields = Omit<
  ScheduleItem,
  'pk' | 'sk' | 'kind' | 'lastFireTime' | 'generation' | 'createdAt' | 'updatedAt' | 'lastFire' | 'lastError' | 'dueAt' | 'dueShard'
>;

export const getSchedule = (db: Db, workflow: string, id: string) => db.get<ScheduleItem>(scheduleKeys.schedule(workflow, id));

export const listSchedules = (db: Db, workflow: string) => db.queryAll<ScheduleItem>(scheduleKeys.schedule(workflow, '').pk, 'SCHED#');

/** The due-index attributes for a next fire time, or the removal of them when there is none. */
function dueSpec(db: Db, key: Key, next: number | undefined): { set: Record<string, unknown>; remove: readonly string[] } {
  return next === undefined ? { set: {}, remove: DUE_ATTRIBUTES } : { set: db.due(key, next), remove: [] };
}

/** Creates a schedule; false if one with this id exists. */
export function createSchedule(db: Db, fields: ScheduleFields, now: number, next: number | undefined): Promise<boolean> {
  const key = scheduleKeys.schedule(fields.workflow, fields.scheduleId);
  return db.create({
    ...key,
    kind: 'schedule',
    ...fields,
    lastFireTime: now,
    generation: 1,
    createdAt: now,
    updatedAt: now,
    ...(next !== undefined && fields.enabled ? db.due(key, next) : {}),
  });
}

/** Replaces the definition of a schedule read as `prev`; undefined when it changed since (re-read and retry). */
export function replaceSchedule(db: Db, prev: ScheduleItem, fields: ScheduleFields, now: number, next: number | undefined) {
  const key = scheduleKeys.schedule(prev.workflow, prev.scheduleId);
  const due = dueSpec(db, key, fields.enabled ? next : undefined);
  const cleared = (['start', 'end', 'version'] as const).filter((f) => fields[f] === undefined);
  return db.update<ScheduleItem>(
    key,
    {
      set: { ...fields, generation: prev.generation + 1, updatedAt: now, ...due.set },
      remove: [...due.remove, ...cleared, 'lastError'],
    },
    whereEquals({ generation: prev.generation, lastFireTime: prev.lastFireTime }),
  );
}

/**
 * Pause (enabled = false: out of the due index) or resume (back in it at `next`). Conditional on the
 * generation read: every write that changes `enabled` bumps it, so it is the whole check.
 */
export function setEnabled(db: Db, prev: ScheduleItem, enabled: boolean, now: number, next: number | undefined) {
  const key = scheduleKeys.schedule(prev.workflow, prev.scheduleId);
  const due = dueSpec(db, key, enabled ? next : undefined);
  return db.update<ScheduleItem>(
    key,
    { set: { enabled, generation: prev.generation + 1, updatedAt: now, ...due.set }, remove: due.remove },
    whereEquals({ generation: prev.generation }),
  );
}

/**
 * Moves the schedule's mark forward after its runs were created: only from the mark and generation
 * the tick read, so two ticks (or a tick and an API change) cannot both advance it.
 */
export function advanceSchedule(
  db: Db,
  prev: ScheduleItem,
  mark: number,
  next: number | undefined,
  extra: { lastFire?: LastFire; lastError?: ScheduleItem['lastError'] },
) {
  const key = scheduleKeys.schedule(prev.workflow, prev.scheduleId);
  const due = dueSpec(db, key, next);
  return db.update<ScheduleItem>(
    key,
    { set: { lastFireTime: mark, ...due.set, ...extra }, remove: due.remove },
    and(whereEquals({ lastFireTime: prev.lastFireTime, generation: prev.generation }), {
      expr: '#e = :t',
      names: { '#e': 'enabled' },
      values: { ':t': true },
    }),
  );
}

/** Deletes a schedule. False when there was none. */
export const deleteSchedule = (db: Db, workflow: string, id: string): Promise<boolean> => db.remove(scheduleKeys.schedule(workflow, id));

// ---------------------------------------------------------------------------------------------
// Concurrency gate

export interface GateItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'gate';
  readonly workflow: string;
  readonly active?: Set<string>;
  readonly waiting?: Set<string>;
}

/** The entry of a run in the gate's `waiting` set: sorts by creation time, then run id. */
export const waitingEntry = (run: Pick<RunItem, 'createdAt' | 'runId'>) => `${String(run.createdAt).padStart(15, '0')}#${run.runId}`;
export const runIdOfEntry = (entry: string) => entry.slice(entry.indexOf('#') + 1);

export const getGate = (db: Db, workflow: string) => db.get<GateItem>(scheduleKeys.gate(workflow));

const HAS_ROOM = '(attribute_not_exists(#a) OR size(#a) < :limit)';

/**
 * Takes a slot for `runId` if fewer than `limit` are active (and, with `fair`, nobody is waiting).
 * True when the run holds a slot afterwards (also when it already held one).
 */
export async function takeSlot(db: Db, workflow: string, runId: string, limit: number, fair: boolean): Promise<boolean> {
  const r = await db.update<GateItem>(
    scheduleKeys.gate(workflow),
    { set: { kind: 'gate', workflow }, add: { active: new Set([runId]) } },
    {
      expr: fair
        ? `contains(#a, :rid) OR (${HAS_ROOM} AND (attribute_not_exists(#w) OR size(#w) = :zero))`
        : `contains(#a, :rid) OR ${HAS_ROOM}`,
      names: { '#a': 'active', ...(fair ? { '#w': 'waiting' } : {}) },
      values: { ':rid': runId, ':limit': limit, ...(fair ? { ':zero': 0 } : {}) },
    },
  );
  return r !== undefined;
}

/**
 * Adds a pending run to the waiting set (idempotent). Unconditional: a set ADD commutes with every
 * other write of the gate, and the gate's key holds nothing but the gate.
 */
export async function enqueueWaiting(db: Db, workflow: string, entry: string): Promise<void> {
  await db.update(scheduleKeys.gate(workflow), { set: { kind: 'gate', workflow }, add: { waiting: new Set([entry]) } });
}

/** Moves the waiting `entry` into `active`, if it is still waiting and there is room. */
export async function admitWaiting(db: Db, workflow: string, entry: string, limit: number): Promise<boolean> {
  const r = await db.update(
    scheduleKeys.gate(workflow),
    { add: { active: new Set([runIdOfEntry(entry)]) }, delete: { waiting: new Set([entry]) } },
    {
      expr: `contains(#w, :entry) AND ${HAS_ROOM}`,
      names: { '#a': 'active', '#w': 'waiting' },
      values: { ':entry': entry, ':limit': limit },
    },
  );
  return r !== undefined;
}

/** Frees the slot of a run (and drops it from waiting): idempotent, conditional on the run holding or awaiting one. */
export async function releaseSlot(db: Db, workflow: string, runId: string, entry: string): Promise<boolean> {
  const r = await db.update(
    scheduleKeys.gate(workflow),
    { delete: { active: new Set([runId]), waiting: new Set([entry]) } },
    {
      expr: 'contains(#a, :rid) OR contains(#w, :entry)',
      names: { '#a': 'active', '#w': 'waiting' },
      values: { ':rid': runId, ':entry': entry },
    },
  );
  return r !== undefined;
}
