/**
 * Reference cron reader for tests, written apart from functions/engine/schedule/ (and not importing it):
 * every field becomes a membership test, and day rules are decided by looking at the whole month.
 * Slow and plain on purpose. Throws on anything it cannot read.
 */

export interface RefCron {
  readonly quartz: boolean;
  second(v: number): boolean;
  minute(v: number): boolean;
  hour(v: number): boolean;
  month(v: number): boolean;
  /** Day `d` of month `m` (1-12) of year `y`. */
  day(y: number, m: number, d: number): boolean;
  /** The hour field lets every hour 0-23 through. */
  readonly everyHour: boolean;
}

const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const ALIASES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

type Test = (v: number) => boolean;

/**
 * Membership in `lo-hi/step` over values min..max. A range whose start is after its end wraps
 * (Quartz): its unrolled values run from lo to hi + (max - min + 1).
 */
function inRange(v: number, lo: number, hi: number, step: number, min: number, max: number): boolean {
  const size = max - min + 1;
  const top = hi < lo ? hi + size : hi;
  return [v, v + size].some((u) => u >= lo && u <= top && (u - lo) % step === 0);
}

function numberOf(tok: string, names: string[] | undefined, base: number): number {
  const i = names ? names.indexOf(tok.toUpperCase()) : -1;
  if (i >= 0) return i + base;
  if (!/^[0-9]+$/.test(tok)) throw new Error(`bad token ${tok}`);
  return Number(tok);
}

/** A list field: `*`, `a`, `a-b`, `a/s`, `*\/s`, `a-b/s`, comma separated. */
function listTest(text: string, min: number, max: number, names?: string[], nameBase = 0, sundayEnd = false): Test {
  const tests = text.split(',').map((item): Test => {
    const [range, stepText] = item.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (range === '*') return (v) => inRange(v, min, max, step, min, max);
    const [a, b] = range.split('-') as [string, string | undefined];
    const lo = numberOf(a, names, nameBase);
    let hi = b === undefined ? (stepText === undefined ? lo : max) : numberOf(b, names, nameBase);
    if (sundayEnd && b !== undefined && b.toUpperCase() === 'SUN' && lo > 0) hi = 7;
    if (lo < min || lo > max || hi < min || hi > max) throw new Error(`out of range: ${item}`);
    return (v) => inRange(v, lo, hi, step, min, max);
  });
  return (v) => tests.some((t) => t(v));
}

const lastOf = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekdayOf = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();
const workday = (y: number, m: number, d: number) => weekdayOf(y, m, d) % 6 !== 0;

type DayTest = (y: number, m: number, d: number) => boolean;

function domTest(text: string, quartz: boolean): DayTest {
  if (text === 'LW') {
    return (y, m, d) => {
      let last = lastOf(y, m);
      while (!workday(y, m, last)) last--;
      return d === last;
    };
  }
  const minus = /^L-(\d+)$/.exec(text);
  if (minus) return (y, m, d) => d === lastOf(y, m) - Number(minus[1]);
  const near = /^(\d+)W$/.exec(text);
  if (near) {
    const n = Number(near[1]);
    return (y, m, d) => {
      const last = lastOf(y, m);
      if (n > last) return false;
      let best = 0;
      for (let c = 1; c <= last; c++) if (workday(y, m, c) && (best === 0 || Math.abs(c - n) < Math.abs(best - n))) best = c;
      return d === best;
    };
  }
  const items = text.split(',');
  const plain = items.filter((i) => i !== 'L');
  const listed = plain.length ? listTest(plain.join(','), 1, 31) : () => false;
  // Quartz wraps day ranges too; cron does not read them (the engine refuses them).
  if (!quartz && plain.some((i) => /^(\d+)-(\d+)/.test(i) && Number(i.split('-')[0]) > Number(i.split(/[-/]/)[1]))) {
    throw new Error('wrapped day range in cron form');
  }
  return (y, m, d) => listed(d) || (items.includes('L') && d === lastOf(y, m));
}

function dowTest(text: string, quartz: boolean): DayTest {
  // Quartz counts 1 = SUN .. 7 = SAT; cron 0 = SUN .. 6 = SAT, 7 = SUN again.
  const toWeekday = (tok: string) => {
    const n = numberOf(tok, DAYS, quartz ? 1 : 0);
    return quartz ? n - 1 : n % 7;
  };
  const tests = text.split(',').map((item): DayTest => {
    if (item === 'L' && quartz) return (y, m, d) => weekdayOf(y, m, d) === 6;
    const last = /^(\w+?)#?L$/.exec(item);
    if (last?.[1]) {
      const w = toWeekday(last[1]);
      return (y, m, d) => weekdayOf(y, m, d) === w && d + 7 > lastOf(y, m);
    }
    const nth = /^(\w+)#(\d)$/.exec(item);
    if (nth?.[1]) {
      const w = toWeekday(nth[1]);
      return (y, m, d) => {
        let count = 0;
        for (let c = 1; c <= d; c++) if (weekdayOf(y, m, c) === w) count++;
        return weekdayOf(y, m, d) === w && count === Number(nth[2]);
      };
    }
    const t = quartz ? listTest(item, 1, 7, DAYS, 1) : listTest(item, 0, 7, DAYS, 0, true);
    return quartz ? (y, m, d) => t(weekdayOf(y, m, d) + 1) : (y, m, d) => t(weekdayOf(y, m, d)) || (weekdayOf(y, m, d) === 0 && t(7));
  });
  return (y, m, d) => tests.some((t) => t(y, m, d));
}

/** Reads an expression the way docs/schedules.md describes. */
export function refParse(expression: string): RefCron {
  const text = ALIASES[expression.trim()] ?? expression.trim();
  const f = text.split(/\s+/);
  const quartz = f.length === 7 || (f.length === 6 && (f[3] === '?' || f[5] === '?'));
  if (f.length === 7) f.pop();
  if (f.length === 5) f.unshift('0');
  const [s, mi, h, dom, mo, dow] = f as [string, string, string, string, string, string];
  const second = listTest(s, 0, 59);
  const minute = listTest(mi, 0, 59);
  const hour = listTest(h, 0, 23);
  const month = listTest(mo, 1, 12, MONTHS, 1);
  const anyDom = dom === '*' || dom === '?';
  const anyDow = dow === '*' || dow === '?';
  const dm = anyDom ? () => true : domTest(dom, quartz);
  const dw = anyDow ? () => true : dowTest(dow, quartz);
  // Vixie/cronie: either day field may match only when neither one's text starts with '*'.
  const either = !quartz && !dom.startsWith('*') && !dow.startsWith('*') && dom !== '?' && dow !== '?';
  const day: DayTest = either ? (y, m, d) => dm(y, m, d) || dw(y, m, d) : (y, m, d) => dm(y, m, d) && dw(y, m, d);
  let everyHour = true;
  for (let v = 0; v < 24; v++) everyHour &&= hour(v);
  return { quartz, second, minute, hour, month, day, everyHour };
}
