/**
 * Cron parsing and fire-time enumeration (pure: no I/O, no clock).
 *
 * Accepted forms
 * - Standard 5-field: `min hour dom month dow` (day-of-week 0-7, 0 and 7 = Sunday).
 * - 6-field with seconds: `sec min hour dom month dow`.
 * - Quartz: 6 fields, or 7 with a trailing year field. Only `*` is accepted as the year.
 *   An expression is read as Quartz when it has 7 fields, or 6 fields with `?` in day-of-month or
 *   day-of-week. Quartz numbers the days of the week 1-7 with 1 = Sunday (`2#1` = first Monday);
 *   all other forms use 0-7 with 0/7 = Sunday. Day names (MON...) mean the same in both.
 * - `?` (day-of-month / day-of-week only) means "no specific value".
 * - day-of-month: `L` (last day), `L-n` (n days before the last day), `nW` (nearest weekday to the
 *   n-th, never crossing into another month; skipped in months shorter than n days), `LW` (last weekday).
 * - day-of-week: `d#n` (n-th d of the month, n 1-5), `dL` or `d#L` (last d of the month); Quartz `L` alone = Saturday.
 * - Nicknames: @yearly @annually @monthly @weekly @daily @midnight @hourly.
 * - When both day-of-month and day-of-week are restricted (standard form), a day matches if either
 *   matches (Vixie cron).
 *
 * Time zones and daylight saving
 * croner is used only to match the pattern against *wall-clock* time (evaluated as UTC, so it never
 * sees an offset); the mapping from wall time to instants is done here (croner's own time-zone
 * handling skips real hours in the fall-back overlap, picks the overlap instant inconsistently
 * between zones, and can return a time before the one asked for). Rules:
 * - A wall time that occurs once fires once.
 * - Spring-forward gap (wall time does not exist): a pattern whose hour field matches every hour
 *   (`0 * * * *`, `0 0/15 * * * ?`) simply has no fire there: it keeps firing on every real hour.
 *   Any other pattern (e.g. daily 02:30) fires once, at the instant the clocks jump (03:00 new
 *   time); several skipped wall times collapse into that single fire.
 * - Fall-back overlap (wall time occurs twice): a pattern whose hour field matches every hour fires
 *   at both instants (every real hour/quarter-hour runs); any other pattern fires once, at the first
 *   occurrence (daily 01:30 in New York runs once, at 01:30 EDT).
 * - Results are strictly increasing, distinct, whole-second instants.
 */
import { Cron, CronPattern } from 'croner';
import { canonicalTimeZone, gapTransition, instantsOfWall, minOffsetAround } from './tz.js';

export type CronDialect = 'standard' | 'quartz';

/** A day-of-month rule croner cannot express; evaluated here against a relaxed day range. */
export type DayRule =
  | { readonly kind: 'nearestWeekday'; readonly day: number }
  | { readonly kind: 'lastWeekday' }
  | { readonly kind: 'lastDayMinus'; readonly days: number };

/** A validated cron schedule. Plain data (JSON round-trips), safe to store. */
export interface CronSpec {
  /** The expression as given (trimmed). */
  readonly expression: string;
  /** Canonical IANA time zone name. */
  readonly timezone: string;
  readonly dialect: CronDialect;
  /** Six-field wall-clock pattern actually evaluated (seconds first, Sunday = 0, no `?`/`W`). */
  readonly pattern: string;
  readonly dayRule?: DayRule;
  /** The hour field matches every hour: fire at both instants of a fall-back overlap, none in a gap. */
  readonly everyHour: boolean;
}

export type ParseCronResult =
  | { readonly ok: true; readonly cron: CronSpec }
  | { readonly ok: false; readonly field: 'cron' | 'timezone'; readonly message: string };

const SECOND = 1000;

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const DAY_NAMES: Readonly<Record<string, number>> = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 };

class CronSyntaxError extends Error {}

function fail(message: string): never {
  throw new CronSyntaxError(message);
}

/** Map one day-of-week value (number or name) to croner's 0-6 (7 allowed as a range end for Sunday). */
function dowValue(token: string, dialect: CronDialect, rangeEnd: boolean): number {
  const upper = token.toUpperCase();
  const named = DAY_NAMES[upper];
  if (named !== undefined) return named === 0 && rangeEnd ? 7 : named;
  if (!/^\d{1,2}$/.test(token)) fail(`day-of-week: '${token}' is not a day number or name (SUN-SAT)`);
  const n = Number(token);
  if (dialect === 'quartz') {
    if (n < 1 || n > 7) fail(`day-of-week: ${n} is out of range (Quartz form uses 1-7, 1 = SUN)`);
    return n === 1 && rangeEnd ? 7 : n - 1;
  }
  if (n > 7) fail(`day-of-week: ${n} is out of range (0-7, 0 and 7 = SUN)`);
  return n;
}

function normalizeDow(field: string, dialect: CronDialect): string {
  if (field === '*' || field === '?') return '*';
  return field
    .split(',')
    .map((item) => {
      if (item === '') fail('day-of-week: empty list item');
      if (item === 'L') {
        if (dialect === 'quartz') return '6';
        fail("day-of-week: 'L' alone is only meaningful in Quartz form (= SAT); use e.g. 5L for the last Friday");
      }
      let m = /^([A-Za-z]+|\d+)#?L$/.exec(item); // Quartz `5L`, croner `5#L`
      if (m?.[1]) return `${dowValue(m[1], dialect, false)}#L`;
      m = /^([A-Za-z]+|\d+)#(\d+)$/.exec(item);
      if (m?.[1] && m[2]) {
        const nth = Number(m[2]);
        if (nth < 1 || nth > 5) fail(`day-of-week: '#${m[2]}' must be 1-5`);
        return `${dowValue(m[1], dialect, false)}#${nth}`;
      }
      m = /^(\*|[A-Za-z]+|\d+)(?:-([A-Za-z]+|\d+))?(?:\/(\d+))?$/.exec(item);
      if (!m?.[1]) fail(`day-of-week: cannot parse '${item}'`);
      const [, from, to, step] = m;
      if (from === '*' && to !== undefined) fail(`day-of-week: cannot parse '${item}'`);
      let out = from === '*' ? '*' : String(dowValue(from, dialect, false));
      if (to !== undefined) out += `-${dowValue(to, dialect, true)}`;
      if (step !== undefined) {
        // Quartz `a/s` counts up to 7 (SAT); croner stops at 6 (SAT) after the shift: same days.
        out += `/${step}`;
      }
      return out;
    })
    .join(',');
}

interface DomResult {
  readonly field: string;
  readonly rule?: DayRule;
}

function normalizeDom(field: string): DomResult {
  if (field === '?') return { field: '*' };
  if (field === 'LW') return { field: '26-31', rule: { kind: 'lastWeekday' } };
  let m = /^L-(\d{1,2})$/.exec(field);
  if (m?.[1]) {
    const days = Number(m[1]);
    if (days > 30) fail(`day-of-month: 'L-${days}' is out of range (L-0 to L-30)`);
    return { field: `${Math.max(1, 28 - days)}-${31 - days}`, rule: { kind: 'lastDayMinus', days } };
  }
  m = /^(\d{1,2})W$/.exec(field);
  if (m?.[1]) {
    const day = Number(m[1]);
    if (day < 1 || day > 31) fail(`day-of-month: '${field}' is out of range (1W-31W)`);
    return { field: `${Math.max(1, day - 2)}-${Math.min(31, day + 2)}`, rule: { kind: 'nearestWeekday', day } };
  }
  if (field.includes('W')) fail(`day-of-month: 'W' must follow a single day (e.g. 15W) or L (LW), got '${field}'`);
  for (const item of field.split(',')) {
    if (item === 'L') continue;
    if (!/^(\*|\d+(-\d+)?)(\/\d+)?$/.test(item)) fail(`day-of-month: cannot parse '${item}'`);
  }
  if (field.split(',').filter((i) => i === 'L').length > 1) fail(`day-of-month: cannot parse '${field}'`);
  return { field };
}

const SIMPLE_ITEM = /^(\*|\d+(-\d+)?)(\/\d+)?$/;
const MONTH_ITEM = /^(\*|([A-Za-z]{3}|\d+)(-([A-Za-z]{3}|\d+))?)(\/\d+)?$/;

function checkSimple(name: string, field: string, item: RegExp = SIMPLE_ITEM): void {
  for (const part of field.split(',')) {
    if (!item.test(part)) fail(`${name}: cannot parse '${part}'`);
  }
}

interface Normalized {
  readonly dialect: CronDialect;
  readonly pattern: string;
  readonly dayRule?: DayRule;
}

function normalize(expression: string): Normalized {
  let expr = expression;
  if (expr.startsWith('@')) {
    const nick = NICKNAMES[expr.toLowerCase()];
    if (!nick) fail(`unknown nickname '${expr}' (known: ${Object.keys(NICKNAMES).join(', ')})`);
    expr = nick;
  }
  const fields = expr.split(/\s+/);
  const given = fields.length;
  if (fields.length < 5 || fields.length > 7) {
    fail(`expected 5 fields (min hour day month weekday), 6 (with seconds first) or 7 (Quartz, with year last); got ${fields.length}`);
  }
  if (fields.length === 7) {
    const year = fields.pop();
    if (year !== '*') fail(`the year field must be '*' (restricting years is not supported), got '${year}'`);
  }
  if (fields.length === 5) fields.unshift('0');
  const [sec, min, hour, dom, month, dow] = fields as [string, string, string, string, string, string];

  fields.forEach((f, i) => {
    if (f.includes('?') && !((i === 3 || i === 5) && f === '?')) {
      const hint =
        given === 6 && (i === 2 || i === 4)
          ? ' (this looks like an AWS EventBridge expression, which has no seconds field; Quartz form starts with seconds)'
          : '';
      fail(`'?' is only allowed as the whole day-of-month or day-of-week field${hint}`);
    }
  });
  if (dom === '?' && dow === '?') fail("'?' can be used in day-of-month or day-of-week, not both");
  const dialect: CronDialect = given === 7 || (given === 6 && (dom === '?' || dow === '?')) ? 'quartz' : 'standard';

  checkSimple('second', sec);
  checkSimple('minute', min);
  checkSimple('hour', hour);
  checkSimple('month', month, MONTH_ITEM);
  const domN = normalizeDom(dom);
  const dowN = normalizeDow(dow, dialect);
  if (domN.rule && dowN !== '*') fail("day-of-month 'W'/'LW'/'L-n' cannot be combined with a day-of-week");
  const pattern = [sec, min, hour, domN.field, month, dowN].join(' ');
  return domN.rule ? { dialect, pattern, dayRule: domN.rule } : { dialect, pattern };
}

const compiled = new Map<string, Cron>();

function engine(pattern: string): Cron {
  let c = compiled.get(pattern);
  if (!c) {
    // utcOffset 0: croner evaluates the pattern against wall-clock time encoded as UTC.
    c = new Cron(pattern, { utcOffset: 0, legacyMode: true });
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, c);
  }
  return c;
}

/** Parse and validate a cron expression and IANA time zone. Never throws. */
export function parseCron(expr: string, timezone: string): ParseCronResult {
  if (typeof expr !== 'string' || expr.trim() === '') return { ok: false, field: 'cron', message: 'cron expression is empty' };
  const expression = expr.trim();
  let n: Normalized;
  let everyHour: boolean;
  try {
    n = normalize(expression);
    const p = new CronPattern(n.pattern);
    everyHour = p.hour.every((h) => h !== 0);
    engine(n.pattern);
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^Cron(Pattern|Date)?: /, '') : String(e);
    return { ok: false, field: 'cron', message: `invalid cron expression '${expression}': ${message}` };
  }
  const zone = canonicalTimeZone(timezone);
  if (!zone) {
    return {
      ok: false,
      field: 'timezone',
      message: `unknown time zone '${String(timezone)}' (expected an IANA name such as 'Europe/Paris' or 'UTC')`,
    };
  }
  const cron: CronSpec = n.dayRule
    ? { expression, timezone: zone, dialect: n.dialect, pattern: n.pattern, dayRule: n.dayRule, everyHour }
    : { expression, timezone: zone, dialect: n.dialect, pattern: n.pattern, everyHour };
  if (nextFireTimes(cron, new Date(Date.UTC(2000, 0, 1)), 1).length === 0) {
    return { ok: false, field: 'cron', message: `cron expression '${expression}' never fires` };
  }
  return { ok: true, cron };
}

function dayRuleMatches(rule: DayRule, wall: number): boolean {
  const d = new Date(wall);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const weekday = (dd: number) => new Date(Date.UTC(y, m, dd)).getUTCDay();
  switch (rule.kind) {
    case 'lastDayMinus':
      return day === last - rule.days;
    case 'lastWeekday': {
      const w = weekday(last);
      return day === (w === 6 ? last - 1 : w === 0 ? last - 2 : last);
    }
    case 'nearestWeekday': {
      const n = rule.day;
      if (n > last) return false;
      const w = weekday(n);
      let target = n;
      if (w === 6) target = n === 1 ? 3 : n - 1;
      else if (w === 0) target = n === last ? n - 2 : n + 1;
      return day === target;
    }
  }
}

/** Fire instants (epoch ms), strictly increasing, all > afterMs. Lazy. */
function* instantsAfter(cron: CronSpec, afterMs: number): Generator<number> {
  const c = engine(cron.pattern);
  const zone = cron.timezone;
  // Earliest wall time that could map to an instant after `afterMs` (minus a margin).
  let cursor = afterMs + minOffsetAround(afterMs, zone) - 2 * SECOND;
  const pending: number[] = []; // second occurrences in a fall-back overlap, ascending
  let last = afterMs;
  for (;;) {
    const next = c.nextRun(new Date(cursor));
    if (!next) break;
    const wall = next.getTime();
    if (cron.dayRule && !dayRuleMatches(cron.dayRule, wall)) {
      const d = new Date(wall);
      cursor = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 23, 59, 59);
      continue;
    }
    cursor = wall;
    const at = instantsOfWall(wall, zone);
    let primary: number;
    let second: number | undefined;
    const first = at[0];
    if (first === undefined) {
      if (cron.everyHour) continue; // the real hours around the gap still fire
      primary = gapTransition(wall, zone);
    } else {
      primary = first;
      const lastAt = at[at.length - 1];
      if (cron.everyHour && lastAt !== undefined && lastAt > first) second = lastAt;
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
  if (count === 0 || untilMs <= afterMs) return out;
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
  if (hi <= lo || !exists(lo)) return undefined;
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
  if (toMs <= fromMs) return { count, exact: true };
  for (const t of instantsAfter(cron, fromMs)) {
    if (t > toMs) return { count, exact: true };
    if (count >= limit) return { count, exact: false };
    count++;
  }
  return { count, exact: true };
}
