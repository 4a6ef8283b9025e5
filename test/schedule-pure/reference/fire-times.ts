/**
 * Reference fire times by brute force over UTC minutes: each minute's wall-clock fields come from
 * Intl.DateTimeFormat, and the daylight-saving rules of docs/schedules.md are applied as written.
 * Independent of functions/engine/schedule/ (imports nothing from it).
 *
 * Speed-ups that keep it a scan: a UTC day whose offset is the same at both ends is assumed to have
 * one offset throughout (true of every zone tested), and within such a day whole 15-minute blocks are
 * skipped when their wall date or hour cannot match (offsets are checked to be multiples of 15 min).
 */
import { type RefCron, refParse } from './parse.js';

const MIN = 60_000;
const DAY = 86_400_000;
const BLOCK = 15 * MIN;

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of instant `t` in `zone`, as epoch ms of the same fields read as UTC. */
function wallByIntl(t: number, zone: string): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
}

const offsetOf = (t: number, zone: string) => wallByIntl(t, zone) - t;

/**
 * Fire instants (epoch ms) of `expression` in `zone` that are > `after` and <= `until`, at most `count`.
 */
export function referenceFireTimes(expression: string, zone: string, after: number, until: number, count: number): number[] {
  const c: RefCron = refParse(expression);
  const out = new Set<number>();
  const repeats: [from: number, wallLo: number, wallHi: number][] = [];
  const dayOk = new Map<string, boolean>();
  const dateMatches = (wall: number) => {
    const d = new Date(wall);
    const key = `${d.getUTCFullYear()}-${d.getUTCMonth()}-${d.getUTCDate()}`;
    let ok = dayOk.get(key);
    if (ok === undefined) {
      ok = c.month(d.getUTCMonth() + 1) && c.day(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
      dayOk.set(key, ok);
    }
    return ok;
  };
  const minuteMatches = (wall: number) => {
    const d = new Date(wall);
    return dateMatches(wall) && c.hour(d.getUTCHours()) && c.minute(d.getUTCMinutes());
  };
  const emit = (t: number) => {
    if (t > after && t <= until) out.add(t);
  };
  const minute = (t: number, wall: number) => {
    if (!minuteMatches(wall)) return;
    // A wall time met for the second time (clocks went back) fires again only for every-hour patterns.
    if (!c.everyHour && repeats.some(([from, lo, hi]) => t >= from && wall >= lo && wall < hi)) return;
    for (let s = 0; s < 60; s++) if (c.second(s)) emit(t + s * 1000);
  };
  const transition = (t: number, before: number, now: number) => {
    if (now < before) repeats.push([t, t + now, t + before]);
    // Wall times skipped by a jump forward fire once, at the jump, unless the pattern is every-hour.
    if (now > before && !c.everyHour) {
      for (let w = t + before; w < t + now; w += MIN) {
        if (minuteMatches(w)) {
          emit(t);
          break;
        }
      }
    }
  };

  // Start two days early so that a transition just before `after` is known.
  let prev: number | undefined;
  for (let day = Math.floor(after / DAY) * DAY - 2 * DAY; day <= until && out.size < count; day += DAY) {
    const o0 = offsetOf(day, zone);
    const o1 = offsetOf(day + DAY, zone);
    if (prev !== undefined && o0 !== prev) transition(day, prev, o0);
    if (o0 === o1) {
      if (o0 % BLOCK !== 0) throw new Error(`offset ${o0} in ${zone} is not a multiple of 15 minutes`);
      for (let b = day; b < day + DAY; b += BLOCK) {
        const wall = b + o0;
        if (!dateMatches(wall) || !c.hour(new Date(wall).getUTCHours())) continue;
        for (let t = b; t < b + BLOCK; t += MIN) minute(t, t + o0);
      }
      prev = o0;
    } else {
      for (let t = day; t < day + DAY; t += MIN) {
        const o = offsetOf(t, zone);
        if (prev !== undefined && o !== prev) transition(t, prev, o);
        prev = o;
        minute(t, t + o);
      }
    }
  }
  return [...out].sort((a, b) => a - b).slice(0, count);
}
