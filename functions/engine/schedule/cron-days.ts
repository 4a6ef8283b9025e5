/**
 * The two day fields of a cron expression: reading them, deciding whether a calendar day matches, and
 * deciding in a small finite check whether any day ever matches.
 */
import { type CronDialect, DAY_NAMES } from './cron-dialect.js';
import { type FieldRange, fail, fieldValues } from './cron-fields.js';

/** Day-of-month rules; plain data. */
export interface DomRule {
  /** `true` at index d when day d (1-31) is listed. */
  readonly days: readonly boolean[];
  /** `L` (last day of the month). */
  readonly last: boolean;
  /** `L-n`: n days before the last day. */
  readonly lastMinus?: number;
  /** `nW`: the weekday nearest day n, within the month. */
  readonly nearestWeekday?: number;
  /** `LW`: the last weekday of the month. */
  readonly lastWeekday: boolean;
}

/** Day-of-week rules (0 = Sunday); plain data. */
export interface DowRule {
  /** `true` at index w when weekday w is listed. */
  readonly days: readonly boolean[];
  /** `w#n`: the n-th weekday w of the month. */
  readonly nth: readonly (readonly [weekday: number, n: number])[];
  /** `wL`: the last weekday w of the month. */
  readonly last: readonly number[];
}

/** Both day fields and how they combine. */
export interface DayRules {
  readonly dom: DomRule;
  readonly dow: DowRule;
  /**
   * `or`: a day matches if either field matches (cron, when neither field starts with `*`);
   * `and`: both must match (an unrestricted field matches every day).
   */
  readonly combine: 'and' | 'or';
}

const flags = (size: number, values: readonly number[]) => {
  const out = new Array<boolean>(size).fill(false);
  for (const v of values) out[v] = true;
  return out;
};

const DOM_RANGE = (wrap: boolean): FieldRange => ({ name: 'day-of-month', min: 1, max: 31, wrap });

function readDom(field: string, wrap: boolean): DomRule {
  const none: DomRule = { days: flags(32, []), last: false, lastWeekday: false };
  // `*` needs no case of its own: the list below reads it as every day.
  if (field === '?') return { ...none, days: flags(32, fieldValues('*', DOM_RANGE(wrap))) };
  if (field === 'LW') return { ...none, lastWeekday: true };
  let m = /^L-(\d{1,2})$/.exec(field);
  if (m?.[1]) {
    const days = Number(m[1]);
    if (days > 30) fail(`day-of-month: 'L-${days}' is out of range (L-0 to L-30)`);
    return { ...none, lastMinus: days };
  }
  m = /^(\d{1,2})W$/.exec(field);
  if (m?.[1]) {
    const day = Number(m[1]);
    if (day < 1 || day > 31) fail(`day-of-month: '${field}' is out of range (1W-31W)`);
    return { ...none, nearestWeekday: day };
  }
  if (field.includes('W')) fail(`day-of-month: 'W' must follow a single day (e.g. 15W) or L (LW), got '${field}'`);
  const items = field.split(',');
  if (items.filter((i) => i === 'L').length > 1) fail(`day-of-month: cannot parse '${field}'`);
  const plain = items.filter((i) => i !== 'L');
  return { ...none, last: items.includes('L'), days: flags(32, plain.length ? fieldValues(plain.join(','), DOM_RANGE(wrap)) : []) };
}

function dowRange(dialect: CronDialect): FieldRange {
  if (dialect === 'quartz') {
    const names = Object.fromEntries(Object.entries(DAY_NAMES).map(([k, v]) => [k, v + 1]));
    return { name: 'day-of-week', min: 1, max: 7, names, wrap: true, rangeText: 'Quartz form uses 1-7, 1 = SUN' };
  }
  // Cron: 0-7, 0 and 7 = Sunday; SUN at the end of a range that starts later is 7 (`MON-SUN`),
  // so that `SUN-SUN` stays Sunday alone.
  return {
    name: 'day-of-week',
    min: 0,
    max: 7,
    names: DAY_NAMES,
    wrap: false,
    rangeText: '0-7, 0 and 7 = SUN',
    rangeEnd: (e, s, token) => (token.toUpperCase() === 'SUN' && s > 0 ? 7 : e),
  };
}

/** One day-of-week value (number or name) as 0-6, Sunday = 0. */
function weekday(token: string, dialect: CronDialect): number {
  const v = fieldValues(token, dowRange(dialect))[0] as number;
  return dialect === 'quartz' ? v - 1 : v % 7;
}

function readDow(field: string, dialect: CronDialect): DowRule {
  const days: number[] = [];
  const nth: [number, number][] = [];
  const last: number[] = [];
  if (field === '?') return { days: flags(7, [0, 1, 2, 3, 4, 5, 6]), nth, last };
  for (const item of field.split(',')) {
    if (item === '') fail('day-of-week: empty list item');
    if (item === 'L') {
      if (dialect !== 'quartz') {
        fail("day-of-week: 'L' alone is only meaningful in Quartz form (= SAT); use e.g. 5L for the last Friday");
      }
      days.push(6);
      continue;
    }
    let m = /^([A-Za-z]+|\d+)#?L$/.exec(item); // Quartz `5L`, also `5#L`
    if (m?.[1]) {
      last.push(weekday(m[1], dialect));
      continue;
    }
    m = /^([A-Za-z]+|\d+)#(\d+)$/.exec(item);
    if (m?.[1] && m[2]) {
      const n = Number(m[2]);
      if (n < 1 || n > 5) fail(`day-of-week: '#${m[2]}' must be 1-5`);
      nth.push([weekday(m[1], dialect), n]);
      continue;
    }
    const values = fieldValues(item, dowRange(dialect));
    for (const v of values) days.push(dialect === 'quartz' ? v - 1 : v % 7);
  }
  return { days: flags(7, days), nth, last };
}

/** Reads both day fields. `?` means "no specific value" (unrestricted). Throws CronSyntaxError. */
export function readDays(domField: string, dowField: string, dialect: CronDialect): DayRules {
  const dom = readDom(domField, dialect === 'quartz');
  const dow = readDow(dowField, dialect);
  const special = dom.lastMinus !== undefined || dom.nearestWeekday !== undefined || dom.lastWeekday;
  if (special && dowField !== '*' && dowField !== '?') fail("day-of-month 'W'/'LW'/'L-n' cannot be combined with a day-of-week");
  // Vixie cron and cronie: a day field whose text starts with `*` (`*`, `*/2`) makes the two fields
  // combine with AND; only when both are restricted some other way does either one suffice. Quartz
  // always has a `?`, except 7-field expressions stored before parseCron refused them: they keep
  // the OR they were evaluated with then.
  const starLed = (f: string) => f.startsWith('*') || f === '?';
  const combine = !starLed(domField) && !starLed(dowField) ? 'or' : 'and';
  return { dom, dow, combine };
}

function domMatches(r: DomRule, day: number, last: number, weekdayOf: (d: number) => number): boolean {
  if (r.days[day] || (r.last && day === last) || day === last - (r.lastMinus ?? Number.NaN)) return true;
  if (r.lastWeekday) {
    const w = weekdayOf(last);
    return day === (w === 6 ? last - 1 : w === 0 ? last - 2 : last);
  }
  const n = r.nearestWeekday;
  if (n === undefined || n > last) return false; // `31W` does not fire in shorter months
  const w = weekdayOf(n);
  // Saturday moves to Friday, Sunday to Monday, but never into another month.
  const target = w === 6 ? (n === 1 ? 3 : n - 1) : w === 0 ? (n === last ? n - 2 : n + 1) : n;
  return day === target;
}

function dowMatches(r: DowRule, day: number, last: number, w: number): boolean {
  if (r.days[w]) return true;
  if (r.nth.some(([wd, n]) => wd === w && Math.ceil(day / 7) === n)) return true;
  return r.last.some((wd) => wd === w && day + 7 > last);
}

/**
 * Whether day `day` of a month of `last` days whose 1st is weekday `first` (0 = Sunday) matches.
 * The month itself is checked by the caller.
 */
export function dayMatches(r: DayRules, day: number, last: number, first: number): boolean {
  const weekdayOf = (d: number) => (first + d - 1) % 7;
  const a = domMatches(r.dom, day, last, weekdayOf);
  if (r.combine === 'or' && a) return true;
  if (r.combine === 'and' && !a) return false;
  return dowMatches(r.dow, day, last, weekdayOf(day));
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether any day of the given months (1-12) ever matches. Which days of a month match depends only
 * on the month's length and the weekday of its 1st, and every such pair occurs in the Gregorian
 * calendar (February with 28 and 29 days), so 12 × 2 × 7 month shapes decide it.
 */
export function anyDayMatches(r: DayRules, months: readonly number[]): boolean {
  for (const month of months) {
    const lengths = month === 2 ? [28, 29] : [MONTH_DAYS[month - 1] as number];
    for (const last of lengths) {
      for (let first = 0; first < 7; first++) {
        for (let day = 1; day <= last; day++) if (dayMatches(r, day, last, first)) return true;
      }
    }
  }
  return false;
}
