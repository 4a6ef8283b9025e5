import type { Db } from './db.js';
import { whereEquals } from './expr.js';
import { keys, type RunItem } from './items.js';
import { DUE_ATTRIBUTES } from './table.js';

/**
 * A run's clock: one item per run whose definition has a `timeout` or an `sla`, beside the run item
 * (which keeps its own due time for the watchdog). It sits in the due index at its next deadline, so the
 * sweeper and the fine-grained timers fire it like any wait: durable across restarts, no process sleeps.
 *
 * `status` moves `armed → sla_missed → done` (or `armed → done`); the move to `sla_missed` is the one
 * conditional write that marks the SLA missed, and its stream record is where the `sla_missed` event
 * comes from, so it is emitted once per run however often the clock fires.
 */
export interface RunClockItem {
  readonly pk: string;
  readonly sk: 'CLOCK';
  readonly kind: 'clock';
  readonly runId: string;
  readonly workflow: string;
  readonly status: 'armed' | 'sla_missed' | 'done';
  readonly timeoutAt?: number;
  readonly slaAt?: number;
  readonly slaMissedAt?: number;
  readonly dueAt?: number;
}

/** The key of a run's clock (for a timer request). */
export const clockKey = (runId: string) => ({ pk: keys.run(runId).pk, sk: 'CLOCK' as const });

export const getRunClock = (db: Db, runId: string) => db.get<RunClockItem>(clockKey(runId));

/** Creates the clock when the run starts; a repeat (a re-driven start) finds it and changes nothing. */
export function armRunClock(db: Db, run: Pick<RunItem, 'runId' | 'workflow'>, at: { timeoutAt?: number; slaAt?: number }, now: number) {
  const key = clockKey(run.runId);
  const next = Math.min(at.timeoutAt ?? Number.POSITIVE_INFINITY, at.slaAt ?? Number.POSITIVE_INFINITY);
  return db.create({
    ...key,
    kind: 'clock',
    runId: run.runId,
    workflow: run.workflow,
    status: 'armed',
    ...(at.timeoutAt !== undefined && { timeoutAt: at.timeoutAt }),
    ...(at.slaAt !== undefined && { slaAt: at.slaAt }),
    ...db.due(key, next),
    ...db.expiry(now + 366 * 86_400_000),
  });
}

/** armed → sla_missed, once: guarded by the status read. The clock then waits for the timeout, if any. */
export function markSlaMissed(db: Db, clock: RunClockItem, now: number) {
  const key = clockKey(clock.runId);
  const due = clock.timeoutAt !== undefined ? db.due(key, clock.timeoutAt) : undefined;
  return db.update<RunClockItem>(
    key,
    { set: { status: 'sla_missed', slaMissedAt: now, ...due }, ...(due ? {} : { remove: DUE_ATTRIBUTES }) },
    whereEquals({ status: 'armed' }),
  );
}

/** The run ended (or timed out): the clock leaves the due index. Guarded by the status read. */
export function stopRunClock(db: Db, clock: RunClockItem) {
  return db.update<RunClockItem>(
    clockKey(clock.runId),
    { set: { status: 'done' }, remove: DUE_ATTRIBUTES },
    whereEquals({ status: clock.status }),
  );
}

/**
 * running | paused → failed with reason `timeout`, marked `timedOutAt` so that the stream stops the
 * run's work as for a cancel (a run failed by a task's own timeout keeps its running tasks).
 */
export function timeOutRun(db: Db, runId: string, now: number, message: string) {
  const failure = { task: '', reason: 'timeout', message };
  return db.update<RunItem>(
    keys.run(runId),
    { set: { status: 'failed', endedAt: now, failure, timedOutAt: now, ...db.expiry(now) }, remove: DUE_ATTRIBUTES },
    { expr: '#s IN (:q, :r, :p)', names: { '#s': 'status' }, values: { ':q': 'queued', ':r': 'running', ':p': 'paused' } },
  );
}
