/**
 * Which fire times of a schedule are due now (pure: the caller passes `now`).
 *
 * Semantics
 * - Candidates are the fire times in (lastFireTime ?? createdAt, now] that also lie inside the window
 *   [window.start, window.end] (both inclusive). Times outside the window never fire.
 * - A candidate is *late* when it is older than `now - misfireThresholdMs`. Several due times that
 *   are all on time (a seconds-level cron between two scheduler ticks) are normal operation: all fire.
 * - Misfire (at least one late candidate):
 *   - `skip`: only the latest due time fires (flagged `misfired`); the rest are dropped.
 *   - `once`: one run for the whole missed period, at the latest due time, flagged `misfired` with
 *     `misfiredCount` = the number of due times it stands for.
 *   - `all`: every due time fires, oldest first; late ones flagged `misfired`.
 * - At most `cap` times are returned (normal operation and `all`). When more are due, `truncated` is
 *   true and `nextLast` is the last returned time, so the backlog drains on the following calls.
 * - Otherwise `nextLast` is `now` (never earlier than the previous mark): everything up to now has
 *   been handled, including times outside the window and times dropped by `skip`/`once`.
 * - Disabled schedules fire nothing and `nextLast` is `now`: time spent disabled is never back-filled.
 *   (A caller that re-enables a schedule without calling this should store the enable time.)
 */
import { createHash } from 'node:crypto';
import { type CronSpec, countFireTimes, fireTimesBetween, lastFireTimeBetween, nextFireTimes } from './cron.js';

export type MisfirePolicy = 'skip' | 'once' | 'all';

export const MISFIRE_POLICIES: readonly MisfirePolicy[] = ['skip', 'once', 'all'];
export const DEFAULT_FIRE_CAP = 100;
/** A due time older than this (relative to `now`) counts as missed. Larger than one scheduler tick plus jitter. */
export const DEFAULT_MISFIRE_THRESHOLD_MS = 180_000;
/** `once`/`skip` count the missed times up to this many (beyond it `dueCountExact` is false). */
export const DEFAULT_COUNT_LIMIT = 10_000;

export interface ScheduleWindow {
  readonly start?: Date;
  readonly end?: Date;
}

export interface DueFireTimesInput {
  readonly cron: CronSpec;
  /** Last handled mark (the previous `nextLast`); undefined for a schedule that never ran. */
  readonly lastFireTime?: Date;
  /** Used as the mark when `lastFireTime` is undefined: nothing at or before creation fires. */
  readonly createdAt: Date;
  readonly now: Date;
  readonly policy: MisfirePolicy;
  readonly enabled: boolean;
  readonly window?: ScheduleWindow;
  /** Max fire times returned (default 100). */
  readonly cap?: number;
  readonly misfireThresholdMs?: number;
  readonly countLimit?: number;
}

export interface DueFireTime {
  readonly time: Date;
  /** The time was missed (later than the threshold) and is fired under the misfire policy. */
  readonly misfired?: true;
  /** `once`: how many due times this single run stands for (itself included). */
  readonly misfiredCount?: number;
}

export interface DueFireTimesResult {
  /** Ascending. */
  readonly fireTimes: DueFireTime[];
  /** Store this as the schedule's new `lastFireTime`. */
  readonly nextLast: Date;
  /** More times were due than `cap`; the rest are still pending after `nextLast`. */
  readonly truncated: boolean;
  /** True when at least one due time was late (the policy was applied). */
  readonly misfire: boolean;
  /** Number of due times found (a lower bound when `dueCountExact` is false). */
  readonly dueCount: number;
  readonly dueCountExact: boolean;
}

const maxDate = (a: number, b: number) => new Date(Math.max(a, b));

export function dueFireTimes(input: DueFireTimesInput): DueFireTimesResult {
  const { cron, now, policy } = input;
  const cap = input.cap ?? DEFAULT_FIRE_CAP;
  const threshold = input.misfireThresholdMs ?? DEFAULT_MISFIRE_THRESHOLD_MS;
  const countLimit = input.countLimit ?? DEFAULT_COUNT_LIMIT;
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError('cap must be a positive integer');
  if (!Number.isFinite(threshold) || threshold < 0) throw new RangeError('misfireThresholdMs must be >= 0');
  if (!MISFIRE_POLICIES.includes(policy)) throw new RangeError(`unknown misfire policy '${String(policy)}'`);

  const nowMs = now.getTime();
  const markMs = (input.lastFireTime ?? input.createdAt).getTime();
  if (!Number.isFinite(nowMs) || !Number.isFinite(markMs)) throw new RangeError('now, lastFireTime and createdAt must be valid Dates');
  const handledUpToNow = maxDate(markMs, nowMs);
  const none: DueFireTimesResult = {
    fireTimes: [],
    nextLast: handledUpToNow,
    truncated: false,
    misfire: false,
    dueCount: 0,
    dueCountExact: true,
  };
  if (!input.enabled) return none;

  // Candidate range (lower, upper]. Window start is inclusive: start - 1ms as an exclusive bound
  // (fire times are whole seconds).
  const startMs = input.window?.start?.getTime();
  const endMs = input.window?.end?.getTime();
  const lower = new Date(startMs === undefined ? markMs : Math.max(markMs, startMs - 1));
  const upper = new Date(endMs === undefined ? nowMs : Math.min(nowMs, endMs));
  // An empty range (upper <= lower) has no first fire time: nextFireTimes returns none.
  const first = nextFireTimes(cron, lower, 1, { until: upper })[0];
  if (!first) return none;
  const lateBefore = nowMs - threshold; // a time <= this is late
  const misfire = first.getTime() <= lateBefore;

  if (!misfire || policy === 'all') {
    const { times, truncated } = fireTimesBetween(cron, lower, upper, cap);
    const fireTimes = times.map((time): DueFireTime => (time.getTime() <= lateBefore ? { time, misfired: true } : { time }));
    const lastTime = times[times.length - 1] as Date;
    return {
      fireTimes,
      nextLast: truncated ? lastTime : handledUpToNow,
      truncated,
      misfire,
      dueCount: truncated ? cap + 1 : times.length,
      dueCountExact: !truncated,
    };
  }

  // skip / once: a single run at the latest due time.
  const latest = lastFireTimeBetween(cron, lower, upper) ?? first;
  const { count, exact } = countFireTimes(cron, lower, upper, countLimit);
  const fire: DueFireTime = policy === 'once' ? { time: latest, misfired: true, misfiredCount: count } : { time: latest, misfired: true };
  return { fireTimes: [fire], nextLast: handledUpToNow, truncated: false, misfire, dueCount: count, dueCountExact: exact };
}

/**
 * Run id for a schedule's fire time: the same inputs always give the same id, so a repeated
 * scheduler invocation maps to the same run (conditional put makes it a no-op).
 * `s_` + 24 hex chars of sha256 (96 bits) = 26 chars.
 */
export function deterministicRunId(scheduleKey: string, fireTime: Date): string {
  const ms = fireTime.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('fireTime must be a valid Date');
  // Length-prefixed so no (key, time) pair can collide with another by concatenation.
  const material = `baton-schedule-run\u0000${scheduleKey.length}:${scheduleKey}\u0000${ms}`;
  return `s_${createHash('sha256').update(material).digest('hex').slice(0, 24)}`;
}
