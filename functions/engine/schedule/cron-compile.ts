/**
 * A cron expression compiled into value lists, and the search for its next matching wall time
 * (a local calendar time encoded as if it were UTC, see tz.ts). Pure and bounded: no recursion, and a
 * search scans at most one 400-year Gregorian cycle of months, after a finite "ever fires" check.
 */
import { anyDayMatches, type DayRules, dayMatches, readDays } from './cron-days.js';
import { type CronDialect, MONTH_NAMES, shapeOf } from './cron-dialect.js';
import { fieldValues } from './cron-fields.js';

/** A compiled expression (cached per expression; never stored). */
export interface CompiledCron {
  readonly dialect: CronDialect;
  /** The six fields read (seconds first, nickname expanded, year dropped), joined by one space. */
  readonly pattern: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: readonly number[];
  readonly days: DayRules;
  /** The hour field covers 0-23 (whatever its spelling): the every-hour daylight-saving rule applies. */
  readonly everyHour: boolean;
  /** Some day of some listed month matches; false means the expression never fires. */
  readonly fires: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The Gregorian calendar repeats every 400 years: a firing expression fires within that many months. */
const MAX_MONTHS = 400 * 12 + 1;

/** Compiles a trimmed expression; throws CronSyntaxError. `strict` applies the refusals parseCron makes. */
export function compileCron(expression: string, strict: boolean): CompiledCron {
  const { dialect, fields } = shapeOf(expression, strict);
  const [sec, min, hour, dom, month, dow] = fields;
  const wrap = dialect === 'quartz';
  const seconds = fieldValues(sec, { name: 'second', min: 0, max: 59, wrap });
  const minutes = fieldValues(min, { name: 'minute', min: 0, max: 59, wrap });
  const hours = fieldValues(hour, { name: 'hour', min: 0, max: 23, wrap });
  const months = fieldValues(month, { name: 'month', min: 1, max: 12, names: MONTH_NAMES, wrap });
  const days = readDays(dom, dow, dialect);
  return {
    dialect,
    pattern: fields.join(' '),
    seconds,
    minutes,
    hours,
    months,
    days,
    everyHour: hours.length === 24,
    fires: anyDayMatches(days, months),
  };
}

/** Smallest time of day (ms) listed by `c` that is > `after` (ms into the day; negative = any), or undefined. */
function nextTimeOfDay(c: CompiledCron, after: number): number | undefined {
  const lastMin = (c.minutes[c.minutes.length - 1] as number) * MINUTE;
  const lastSec = (c.seconds[c.seconds.length - 1] as number) * SECOND;
  for (const h of c.hours) {
    if (h * HOUR + lastMin + lastSec <= after) continue;
    for (const m of c.minutes) {
      if (h * HOUR + m * MINUTE + lastSec <= after) continue;
      for (const s of c.seconds) {
        const t = h * HOUR + m * MINUTE + s * SECOND;
        if (t > after) return t;
      }
    }
  }
  return undefined;
}

/** Epoch ms of 00:00 UTC on y-m-d (m 1-12), exact for every year (Date.UTC maps 0-99 to 1900s). */
function dayStart(y: number, m: number, d: number): number {
  return new Date(0).setUTCFullYear(y, m - 1, d);
}

/** The first wall time strictly after `afterWall` that `c` matches (whole seconds), or undefined. */
export function nextWall(c: CompiledCron, afterWall: number): number | undefined {
  if (!c.fires) return undefined; // saves scanning 400 years for a stored spec that never fires
  const from = new Date(afterWall);
  let y = from.getUTCFullYear();
  let m = from.getUTCMonth() + 1;
  let firstDay = from.getUTCDate();
  for (let scanned = 0; scanned < MAX_MONTHS; scanned++) {
    if (c.months.includes(m)) {
      const start = dayStart(y, m, 1);
      const last = new Date(dayStart(y, m + 1, 1) - DAY).getUTCDate();
      const first = new Date(start).getUTCDay();
      for (let d = firstDay; d <= last; d++) {
        if (!dayMatches(c.days, d, last, first)) continue;
        const midnight = start + (d - 1) * DAY;
        const t = nextTimeOfDay(c, afterWall - midnight);
        if (t !== undefined) return midnight + t;
      }
    }
    firstDay = 1;
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
  return undefined;
}
