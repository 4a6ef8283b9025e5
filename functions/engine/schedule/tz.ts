/**
 * Time-zone arithmetic on top of Intl (no dependencies, no I/O).
 *
 * A "wall time" is a local calendar time encoded as epoch milliseconds *as if it were UTC*
 * (so 2026-03-29 02:30 local is `Date.UTC(2026, 2, 29, 2, 30)`), which lets cron matching run in
 * plain UTC arithmetic and keeps every DST decision in this file.
 */

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

const canonical = new Map<string, string | undefined>();

/** The canonical IANA name for `zone` (e.g. `america/new_york` → `America/New_York`), or undefined if Intl rejects it. */
export function canonicalTimeZone(zone: string): string | undefined {
  if (typeof zone !== 'string' || zone.trim() === '') return undefined;
  if (canonical.has(zone)) return canonical.get(zone);
  let out: string | undefined;
  try {
    out = new Intl.DateTimeFormat('en-US', { timeZone: zone.trim() }).resolvedOptions().timeZone;
  } catch {
    out = undefined;
  }
  if (canonical.size > 1000) canonical.clear();
  canonical.set(zone, out);
  return out;
}

export interface WallParts {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** Local calendar fields of `instantMs` in `zone` (seconds precision). */
export function wallParts(instantMs: number, zone: string): WallParts {
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(zone).formatToParts(new Date(instantMs))) {
    switch (p.type) {
      case 'year':
      case 'month':
      case 'day':
      case 'hour':
      case 'minute':
      case 'second':
        out[p.type] = Number(p.value);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Wall time (see file comment) of `instantMs` in `zone`, whole seconds. */
export function wallOf(instantMs: number, zone: string): number {
  const p = wallParts(instantMs, zone);
  const w = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  // Date.UTC maps years 0-99 to 1900-1999; fix them up (irrelevant for real schedules, but be exact).
  return p.year < 100 ? new Date(w).setUTCFullYear(p.year) : w;
}

// Small per-zone cache of offsets at whole-hour probe points (probes need not be exact instants).
const probeCache = new Map<string, number>();

/** UTC offset (local − UTC, ms) in effect at `instantMs` in `zone`. */
export function offsetAt(instantMs: number, zone: string): number {
  const whole = Math.floor(instantMs / SECOND) * SECOND;
  return wallOf(whole, zone) - whole;
}

function probeOffset(instantMs: number, zone: string): number {
  const at = Math.floor(instantMs / HOUR) * HOUR;
  const key = `${zone}|${at}`;
  let o = probeCache.get(key);
  if (o === undefined) {
    if (probeCache.size > 8192) probeCache.clear();
    o = offsetAt(at, zone);
    probeCache.set(key, o);
  }
  return o;
}

/**
 * The instants at which local wall time `wall` occurs in `zone`, ascending:
 * one normally, two in a fall-back overlap (earlier offset first), none in a spring-forward gap.
 * Assumes at most one offset change within a day either side (true of every real zone).
 */
export function instantsOfWall(wall: number, zone: string): number[] {
  const before = probeOffset(wall - DAY, zone);
  const after = probeOffset(wall + DAY, zone);
  if (before === after) {
    // Fast path: no offset change near this wall time (hour-granular probes agree around the instant).
    const t = wall - before;
    if (probeOffset(t, zone) === before && probeOffset(t + HOUR, zone) === before) return [t];
  }
  const offsets = before === after ? [before] : [before, after];
  const out: number[] = [];
  for (const o of offsets) {
    const t = wall - o;
    if (offsetAt(t, zone) === o && !out.includes(t)) out.push(t);
  }
  if (out.length === 0 && before === after) {
    // Extremely unusual (two changes within two days): fall back to the exact offsets near the wall.
    for (const o of new Set([
      offsetAt(wall - before, zone),
      offsetAt(wall - before - HOUR * 3, zone),
      offsetAt(wall - before + HOUR * 3, zone),
    ])) {
      const t = wall - o;
      if (offsetAt(t, zone) === o && !out.includes(t)) out.push(t);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * For a wall time that does not exist (spring-forward gap): the instant the clocks jumped, i.e. the
 * first instant whose wall time is later than `wall`. Whole seconds.
 */
export function gapTransition(wall: number, zone: string): number {
  const before = probeOffset(wall - DAY, zone);
  const after = probeOffset(wall + DAY, zone);
  // Before the jump: wall(x) = x + before <= wall; after it: x + after > wall.
  let lo = Math.floor((wall - Math.max(before, after)) / SECOND) - 1; // wall(lo) <= wall
  let hi = Math.ceil((wall - Math.min(before, after)) / SECOND) + 1; // wall(hi) > wall
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallOf(mid * SECOND, zone) > wall) hi = mid;
    else lo = mid;
  }
  return hi * SECOND;
}

/** Smallest UTC offset (ms) in effect in the day after `instantMs` (used to bound searches). */
export function minOffsetAround(instantMs: number, zone: string): number {
  return Math.min(probeOffset(instantMs - DAY, zone), offsetAt(instantMs, zone), probeOffset(instantMs + DAY, zone));
}
