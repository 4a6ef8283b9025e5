import type { Db } from './db.js';
import { and, type Condition, whereEquals } from './expr.js';
import { keys, type RunItem } from './items.js';
import { DUE_ATTRIBUTES } from './table.js';

/**
 * A run's clock: one item per run whose definition has a `timeout` or an `sla`, beside the run item
 * (which keeps its own due time for the watchdog). It sits in the due index at its next deadline, so the
 * sweeper and the fine-grained timers fire it like any wait: durable across restarts, no process sleeps.
 *
 * `status` moves `armed → sla_missed → done` (or `armed → done`); the move to `sla_missed` is the one
 * conditional write that marks the SLA missed, and its stream record is where the `sla_missed` event
 * comes from, so it is emitted once per episode however often the clock fires.
 *
 * `episode` is the run's recovery number (0 for its first start): a recovery re-arms the clock for a
 * new episode (`rearmRunClock`), and every write a firing makes is guarded by the episode it read, so a
 * firing of the previous episode's clock can neither mark nor time out the recovered run.
 */
export interface RunClockItem {
  readonly pk: string;
  readonly sk: 'CLOCK';
  readonly kind: 'clock';
  readonly runId: string;
  readonly workflow: string;
  readonly status: 'armed' | 'sla_missed' | 'done';
  /** The run's recovery number when the clock was armed; absent on a clock armed before episodes existed (0). */
  readonly episode?: number;
  /** When the deadlines count from: the run's start, or its recovery. */
  readonly countsFrom?: number;
  readonly timeoutAt?: number;
  readonly slaAt?: number;
  readonly slaMissedAt?: number;
  readonly dueAt?: number;
}

/** The key of a run's clock (for a timer request). */
export const clockKey = (runId: string) => ({ pk: keys.run(runId).pk, sk: 'CLOCK' as const });

export const getRunClock = (db: Db, runId: string) => db.get<RunClockItem>(clockKey(runId));

/** A run's deadlines, as epoch milliseconds. */
export interface ClockDeadlines {
  readonly timeoutAt?: number;
  readonly slaAt?: number;
}

const nextDeadline = (at: ClockDeadlines) => Math.min(at.timeoutAt ?? Number.POSITIVE_INFINITY, at.slaAt ?? Number.POSITIVE_INFINITY);

function clockFields(db: Db, run: Pick<RunItem, 'runId' | 'workflow'>, at: ClockDeadlines, from: number, now: number) {
  const key = clockKey(run.runId);
  return {
    kind: 'clock',
    runId: run.runId,
    workflow: run.workflow,
    status: 'armed',
    countsFrom: from,
    ...(at.timeoutAt !== undefined && { timeoutAt: at.timeoutAt }),
    ...(at.slaAt !== undefined && { slaAt: at.slaAt }),
    ...db.due(key, nextDeadline(at)),
    ...db.expiry(now + 366 * 86_400_000),
  };
}

/** Creates the clock when the run starts (episode 0); a repeat (a re-driven start) finds it and changes nothing. */
export function armRunClock(db: Db, run: Pick<RunItem, 'runId' | 'workflow'>, at: ClockDeadlines, from: number, now: number) {
  return db.create({ ...clockKey(run.runId), ...clockFields(db, run, at, from, now), episode: 0 });
}

/**
 * A recovery (number `episode`) re-arms the clock: armed again, with deadlines counted from the
 * recovery and `sla_missed` forgotten, whatever state the previous episode left it in (or created, if
 * the run never armed one). Guarded by the episode: a re-driven recovery re-arms once, and a recovery
 * never goes back to an older episode.
 */
export function rearmRunClock(
  db: Db,
  run: Pick<RunItem, 'runId' | 'workflow'>,
  episode: number,
  at: ClockDeadlines,
  from: number,
  now: number,
) {
  return db.update<RunClockItem>(
    clockKey(run.runId),
    { set: { ...clockFields(db, run, at, from, now), episode }, remove: ['slaMissedAt'] },
    { expr: 'attribute_not_exists(#e) OR #e < :e', names: { '#e': 'episode' }, values: { ':e': episode } },
  );
}

/** The clock is still in the episode the caller read (a clock armed before episodes existed is episode 0). */
function sameEpisode(clock: RunClockItem): Condition {
  const e = clock.episode ?? 0;
  if (e === 0) return { expr: 'attribute_not_exists(#e) OR #e = :e', names: { '#e': 'episode' }, values: { ':e': 0 } };
  return whereEquals({ episode: e });
}

/** armed → sla_missed, once per episode: guarded by the status and episode read. The clock then waits for the timeout, if any. */
export function markSlaMissed(db: Db, clock: RunClockItem, now: number) {
  const key = clockKey(clock.runId);
  const due = clock.timeoutAt !== undefined ? db.due(key, clock.timeoutAt) : undefined;
  return db.update<RunClockItem>(
    key,
    { set: { status: 'sla_missed', slaMissedAt: now, ...due }, ...(due ? {} : { remove: DUE_ATTRIBUTES }) },
    and(whereEquals({ status: 'armed' }), sameEpisode(clock)),
  );
}

/** The run ended (or timed out): the clock leaves the due index. Guarded by the status and episode read. */
export function stopRunClock(db: Db, clock: RunClockItem) {
  return db.update<RunClockItem>(
    clockKey(clock.runId),
    { set: { status: 'done' }, remove: DUE_ATTRIBUTES },
    and(whereEquals({ status: clock.status }), sameEpisode(clock)),
  );
}

/**
 * running | paused → failed with reason `timeout`, marked `timedOutAt` so that the stream stops the
 * run's work as for a cancel (a run failed by a task's own timeout keeps its running tasks). Guarded
 * by the clock's episode too: the run must still be in the recovery the clock was armed for, so a
 * clock of an earlier episode, read before a recovery re-armed it, cannot fail the recovered run.
 */
export function timeOutRun(db: Db, runId: string, episode: number, now: number, message: string) {
  const failure = { task: '', reason: 'timeout', message };
  const status: Condition = {
    expr: '#s IN (:q, :r, :p)',
    names: { '#s': 'status' },
    values: { ':q': 'queued', ':r': 'running', ':p': 'paused' },
  };
  const inEpisode: Condition =
    episode === 0 ? { expr: 'attribute_not_exists(#n)', names: { '#n': 'recoveries' } } : whereEquals({ recoveries: episode });
  return db.update<RunItem>(
    keys.run(runId),
    { set: { status: 'failed', endedAt: now, failure, timedOutAt: now, ...db.expiry(now) }, remove: DUE_ATTRIBUTES },
    and(status, inEpisode),
  );
}
