/**
 * Formatting a fire time for `${schedule.*}` template values (pure).
 *
 * `formatFireTime(time, zone, format)`:
 * - presets: `iso` (UTC, `Date.toISOString()`, e.g. 2026-03-29T01:00:00.000Z), `date` (yyyy-MM-dd in
 *   the zone), `local` (ISO-8601 local time with the zone's offset, e.g. 2026-03-29T03:00:00+02:00),
 *   `epoch` (Unix seconds), `epochMs`.
 * - otherwise a pattern: `yyyy` `MM` `dd` `HH` `mm` `ss` are replaced by the local fields in the
 *   zone (zero-padded); every other character is copied as is (e.g. `yyyyMMdd`, `dd/MM/yyyy HH:mm`).
 */
import { canonicalTimeZone, offsetAt, type WallParts, wallParts } from './tz.js';

export type FormatPreset = 'iso' | 'date' | 'local' | 'epoch' | 'epochMs';

/** Values exposed to templates as `${schedule.time}`, `${schedule.date}`, ... */
export interface ScheduleScope {
  /** ISO-8601 UTC. */
  readonly time: string;
  /** yyyy-MM-dd in the schedule's zone. */
  readonly date: string;
  /** ISO-8601 local time with offset in the schedule's zone. */
  readonly local: string;
  /** Unix seconds. */
  readonly epoch: number;
  readonly epochMs: number;
  readonly timezone: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function zoneOrThrow(timezone: string): string {
  const zone = canonicalTimeZone(timezone);
  if (!zone) throw new RangeError(`unknown time zone '${String(timezone)}'`);
  return zone;
}

function timeOrThrow(time: Date): number {
  const ms = time instanceof Date ? time.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError('time must be a valid Date');
  return ms;
}

function offsetString(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.abs(Math.round(offsetMs / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${sign}${pad(h)}:${pad(m)}${s ? `:${pad(s)}` : ''}`;
}

function applyPattern(p: WallParts, format: string): string {
  return format.replace(/yyyy|MM|dd|HH|mm|ss/g, (token) => {
    switch (token) {
      case 'yyyy':
        return pad(p.year, 4);
      case 'MM':
        return pad(p.month);
      case 'dd':
        return pad(p.day);
      case 'HH':
        return pad(p.hour);
      case 'mm':
        return pad(p.minute);
      default:
        return pad(p.second);
    }
  });
}

function localIso(ms: number, zone: string, p: WallParts): string {
  return `${applyPattern(p, 'yyyy-MM-ddTHH:mm:ss')}${offsetString(offsetAt(ms, zone))}`;
}

export function formatFireTime(time: Date, timezone: string, format: string): string {
  const ms = timeOrThrow(time);
  const zone = zoneOrThrow(timezone);
  switch (format) {
    case 'iso':
      return time.toISOString();
    case 'epoch':
      return String(Math.floor(ms / 1000));
    case 'epochMs':
      return String(ms);
    case 'date':
      return applyPattern(wallParts(ms, zone), 'yyyy-MM-dd');
    case 'local':
      return localIso(ms, zone, wallParts(ms, zone));
    default:
      return applyPattern(wallParts(ms, zone), format);
  }
}

export function scheduleScope(time: Date, timezone: string): ScheduleScope {
  const ms = timeOrThrow(time);
  const zone = zoneOrThrow(timezone);
  const p = wallParts(ms, zone);
  return {
    time: time.toISOString(),
    date: applyPattern(p, 'yyyy-MM-dd'),
    local: localIso(ms, zone, p),
    epoch: Math.floor(ms / 1000),
    epochMs: ms,
    timezone: zone,
  };
}
