/**
 * Cron schedules: validation and fire-time enumeration (pure: no I/O, no clock).
 *
 * Accepted forms (the rules, with examples, are in docs/schedules.md)
 * - Cron 5-field: `min hour dom month dow` (day-of-week 0-7, 0 and 7 = Sunday); 6-field with seconds first.
 * - Quartz: 6 fields with `?` in a day field, or 7 with a trailing year field (only `*`); exactly one
 *   day field is `?`. Quartz numbers the days of the week 1-7 with 1 = Sunday; names mean the same in
 *   both. Quartz reads ranges whose start is after their end as wrapping around (`FRI-MON`), as Quartz does.
 * - day-of-month: `L`, `L-n`, `nW`, `LW`; day-of-week: `d#n`, `dL` / `d#L`; Quartz `L` alone = Saturday.
 * - Nicknames: @yearly @annually @monthly @weekly @daily @midnight @hourly.
 * - Cron (Vixie, cronie): when both day fields are restricted and neither starts with `*`, a day
 *   matches if either matches; otherwise both must (`0 0 *\/2 * 1` = odd-dated Mondays).
 *
 * Matching is done on *wall-clock* time (cron-compile.ts); the mapping from wall time to instants is
 * done here, so that every daylight-saving decision is explicit. Rules:
 * - A wall time that occurs once fires once.
 * - Spring-forward gap (wall time does not exist): a pattern whose hour field covers all 24 hours
 *   (`0 * * * *`, `0 0/15 * * * ?`, `0 0-23 * * *`) simply has no fire there. Any other pattern fires
 *   once, at the instant the clocks jump; several skipped wall times collapse into that single fire.
 * - Fall-back overlap (wall time occurs twice): an every-hour pattern fires at both instants; any other
 *   pattern fires once, at the first occurrence.
 * - Results are strictly increasing, distinct, whole-second instants.
 */
import { type CompiledCron, compileCron, nextWall } from './cron-compile.js';
import type { CronDialect } from './cron-dialect.js';
import { CronSyntaxError } from './cron-fields.js';
import { canonicalTimeZone, gapTransition, instantsOfWall, minOffsetAround } from './tz.js';

export type { CronDialect } from './cron-dialect.js';

/** A validated cron schedule. Plain data (JSON round-trips), safe to store. */
export interface CronSpec {
  /** The expression as given (trimmed): what is evaluated. */
  readonly expression: string;
  /** Canonical IANA time zone name. */
  readonly timezone: string;
  readonly dialect: CronDialect;
  /** The six fields read (seconds first, nickname expanded, year dropped); informative. */
  readonly pattern: string;
  /** The hour field covers every hour: fire at both instants of a fall-back overlap, none in a gap. */
  readonly everyHour: boolean;
}

export type ParseCronResult =
  | { readonly ok: true; readonly cron: CronSpec }
  | { readonly ok: false; readonly field: 'cron' | 'timezone'; readonly message: string };

const SECOND = 1000;

const compiled = new Map<string, CompiledCron | undefined>();

/**
 * The compiled form of a stored spec, from its expression (so specs stored by older versions, whose
 * other fields may differ, evaluate by today's rules). Lenient: a stored expression that today's
 * parseCron would refuse but can still be read (both Quartz day fields set) keeps being evaluated;
 * one that cannot be read at all never fires.
 */
function engine(cron: CronSpec): CompiledCron | undefined {
  const key = cron.expression;
  if (compiled.has(key)) return compiled.get(key);
  let c: CompiledCron | undefined;
  try {
    c = compileCron(key, false);
  } catch {
    c = undefined;
  }
  if (compiled.size > 1000) compiled.clear();
  compiled.set(key, c);
  return c;
}

/** Parse and validate a cron expression and IANA time zone. Never throws. */
export function parseCron(expr: string, timezone: string): ParseCronResult {
  if (typeof expr !== 'string' || expr.trim() === '') return { ok: false, field: 'cron', message: 'cron expression is empty' };
  const expression = expr.trim();
  let c: CompiledCron;
  try {
    c = compileCron(expression, true);
  } catch (e) {
    // Anything else thrown is a bug, but the promise of this function is a refusal, not a 500.
    const message = e instanceof CronSyntaxError ? e.message : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
    return { ok: false, field: 'cron', message: `invalid cron expression '${expression}': ${message}` };
  }
  if (!c.fires) {
    return {
      ok: false,
      field: 'cron',
      message: `cron expression '${expression}' never fires: no day of the months it lists matches its day fields`,
    };
  }
  const zone = canonicalTimeZone(timezone);
  if (!zone) {
    return {
      ok: false,
      field: 'timezone',
      message: `unknown time zone '${String(timezone)}' (expected an IANA name such as 'Europe/Paris' or 'UTC')`,
    };
  }
  return { ok: true, cron: { expression, timezone: zone, dialect: c.dialect, pattern: c.pattern, everyHour: c.everyHour } };
}

/** Fire instants (epoch ms), strictly increasing, all > afterMs. Lazy. */
function* instantsAfter(cron: CronSpec, afterMs: number): Generator<number> {
  const c = engine(cron);
  if (!c) return;
  const zone = cron.timezone;
  // Earliest wall time that could map to an instant after `afterMs` (minus a margin).
  let cursor = afterMs + minOffsetAround(afterMs, zone) - 2 * SECOND;
  const pending: number[] = []; // second occurrences in a fall-back overlap, ascending
  let last = afterMs;
  for (;;) {
    const wall = nextWall(c, cursor);
    if (wall === undefined) break;
    cursor = wall;
    const at = instantsOfWall(wall, zone);
    let primary: number;
    let second: number | undefined;
    const first = at[0];
    if (first === undefined) {
      if (c.everyHour) continue; // the real hours around the gap still fire
      primary = gapTransition(wall, zone);
    } else {
      primary = first;
      const lastAt = at[at.length - 1];
      if (c.everyHour && lastAt !== undefined && lastAt > first) second = lastAt;
    }
    while (pending.length > 0 && (pending[0] as number) < primary) {
      const p = pending.shift() as number;
      if (p > last) {
        last = p;
        yield p;
      }
    }
    if (primary > last) {
      last = primary;
      yield primary;
    }
    if (second !== undefined) {
      pending.push(second);
      pending.sort((a, b) => a - b);
    }
  }
  for (const p of pending) {
    if (p > last) {
      last = p;
      yield p;
    }
  }
}

function checkDate(name: string, d: Date): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${name} must be a valid Date`);
  return t;
}

/** Up to `count` fire times strictly after `after` (and not after `opts.until`, inclusive), ascending. */
export function nextFireTimes(cron: CronSpec, after: Date, count: number, opts?: { until?: Date }): Date[] {
  const afterMs = checkDate('after', after);
  const untilMs = opts?.until === undefined ? Number.POSITIVE_INFINITY : checkDate('until', opts.until);
  if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
  const out: Date[] = [];
  if (count === 0) return out;
  for (const t of instantsAfter(cron, afterMs)) {
    if (t > untilMs) break;
    out.push(new Date(t));
    if (out.length >= count) break;
  }
  return out;
}

/** Fire times in (fromExclusive, toInclusive], at most `cap`; `truncated` when more exist in the range. */
export function fireTimesBetween(
  cron: CronSpec,
  fromExclusive: Date,
  toInclusive: Date,
  cap: number,
): { times: Date[]; truncated: boolean } {
  if (!Number.isInteger(cap) || cap < 0) throw new RangeError('cap must be a non-negative integer');
  const times = nextFireTimes(cron, fromExclusive, cap + 1, { until: toInclusive });
  const truncated = times.length > cap;
  if (truncated) times.length = cap;
  return { times, truncated };
}

/** The latest fire time in (fromExclusive, toInclusive], or undefined. Binary search: cheap even over years. */
export function lastFireTimeBetween(cron: CronSpec, fromExclusive: Date, toInclusive: Date): Date | undefined {
  let lo = checkDate('fromExclusive', fromExclusive);
  let hi = checkDate('toInclusive', toInclusive);
  const exists = (x: number) => nextFireTimes(cron, new Date(x), 1, { until: toInclusive }).length > 0;
  if (!exists(lo)) return undefined; // an empty range (hi <= lo) included: nextFireTimes finds none
  // Invariant: a fire exists in (lo, to], none in (hi, to]. Fire times are whole seconds, so once
  // hi - lo <= 1s the interval (lo, hi] holds exactly one.
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (exists(mid)) lo = mid;
    else hi = mid;
  }
  return nextFireTimes(cron, new Date(lo), 1, { until: toInclusive })[0];
}

/** Count fire times in (fromExclusive, toInclusive], stopping at `limit` (then `exact` is false). */
export function countFireTimes(cron: CronSpec, fromExclusive: Date, toInclusive: Date, limit: number): { count: number; exact: boolean } {
  const fromMs = checkDate('fromExclusive', fromExclusive);
  const toMs = checkDate('toInclusive', toInclusive);
  let count = 0;
  for (const t of instantsAfter(cron, fromMs)) {
    if (t > toMs) return { count, exact: true };
    if (count >= limit) return { count, exact: false };
    count++;
  }
  return { count, exact: true };
}
