/**
 * dueFireTimes at its edges: a window that ended before the outage, a due time exactly at the misfire
 * threshold, a truncated backlog's count, the whole "nothing due" answer, and the refusal of inputs a
 * caller could get wrong. Also the fire-time formats a run's params can show (a zone's local mean time
 * before standard time, seconds in the offset).
 */
import { describe, expect, it } from 'vitest';
import { type DueFireTimesInput, deterministicRunId, dueFireTimes, formatFireTime } from '../../functions/engine/schedule/index.js';
import { at, iso, spec } from './helpers.js';

const base = (over: Partial<DueFireTimesInput>): DueFireTimesInput => ({
  cron: spec('0 * * * *'),
  createdAt: at('2026-01-01T00:00:00Z'),
  now: at('2026-01-05T11:00:30Z'),
  policy: 'skip',
  enabled: true,
  ...over,
});

describe('dueFireTimes edges', () => {
  it('nothing due: the whole answer (no misfire, nothing truncated, count exact)', () => {
    const nothing = {
      fireTimes: [],
      nextLast: at('2026-01-05T11:00:30Z'),
      truncated: false,
      misfire: false,
      dueCount: 0,
      dueCountExact: true,
    };
    expect(dueFireTimes(base({ enabled: false, lastFireTime: at('2026-01-05T06:00:00Z') }))).toEqual(nothing);
    expect(dueFireTimes(base({ lastFireTime: at('2026-01-05T11:00:00Z') }))).toEqual(nothing);
  });

  it('a window that ended during the outage, between two fire times: nothing fires, under every policy', () => {
    // Last handled 06:00; the window ended 06:30; now 11:00:30. 07:00 is after the end: never fires.
    for (const policy of ['skip', 'once', 'all'] as const) {
      const r = dueFireTimes(base({ policy, lastFireTime: at('2026-01-05T06:00:00Z'), window: { end: at('2026-01-05T06:30:00Z') } }));
      expect(r.fireTimes, policy).toEqual([]);
      expect(r.nextLast).toEqual(at('2026-01-05T11:00:30Z'));
    }
  });

  it('a due time exactly the threshold old is late (flagged), one second younger is on time', () => {
    const input = { policy: 'all' as const, lastFireTime: at('2026-01-05T10:00:00Z'), misfireThresholdMs: 60_000 };
    expect(dueFireTimes(base({ ...input, now: at('2026-01-05T11:01:00Z') })).fireTimes).toEqual([
      { time: at('2026-01-05T11:00:00Z'), misfired: true },
    ]);
    expect(dueFireTimes(base({ ...input, now: at('2026-01-05T11:00:59Z') })).fireTimes).toEqual([{ time: at('2026-01-05T11:00:00Z') }]);
  });

  it('a truncated backlog reports cap + 1 due (at least), not exact; cap 1 is allowed', () => {
    const r = dueFireTimes(base({ policy: 'all', lastFireTime: at('2026-01-05T06:00:00Z'), cap: 1 }));
    expect(iso(r.fireTimes.map((f) => f.time))).toEqual(['2026-01-05T07:00:00.000Z']);
    expect(r).toMatchObject({ truncated: true, dueCount: 2, dueCountExact: false, nextLast: at('2026-01-05T07:00:00Z') });
    const all = dueFireTimes(base({ policy: 'all', lastFireTime: at('2026-01-05T06:00:00Z'), cap: 5 }));
    expect(all).toMatchObject({ truncated: false, dueCount: 5, dueCountExact: true });
  });

  it.each([
    [{ cap: 0 }, 'cap must be a positive integer'],
    [{ cap: 1.5 }, 'cap must be a positive integer'],
    [{ misfireThresholdMs: -1 }, 'misfireThresholdMs must be >= 0'],
    [{ misfireThresholdMs: Number.NaN }, 'misfireThresholdMs must be >= 0'],
    [{ policy: 'later' as never }, "unknown misfire policy 'later'"],
    [{ now: new Date(Number.NaN) }, 'now, lastFireTime and createdAt must be valid Dates'],
    [{ lastFireTime: new Date(Number.NaN) }, 'now, lastFireTime and createdAt must be valid Dates'],
  ])('refuses %j', (over, message) => {
    expect(() => dueFireTimes(base(over))).toThrow(new RangeError(message));
  });

  it('deterministicRunId refuses an invalid fire time', () => {
    expect(() => deterministicRunId('k', new Date(Number.NaN))).toThrow(new RangeError('fireTime must be a valid Date'));
  });
});

describe('formatFireTime edges', () => {
  it('an offset with seconds (Paris local mean time in 1900: +00:09:21)', () => {
    expect(formatFireTime(at('1900-01-01T00:00:00Z'), 'Europe/Paris', 'local')).toBe('1900-01-01T00:09:21+00:09:21');
  });

  it('refuses an invalid time and an unknown zone, by name', () => {
    expect(() => formatFireTime(new Date(Number.NaN), 'UTC', 'epoch')).toThrow(new RangeError('time must be a valid Date'));
    expect(() => formatFireTime(at('2026-01-01T00:00:00Z'), 'Nowhere/Land', 'epoch')).toThrow(
      new RangeError("unknown time zone 'Nowhere/Land'"),
    );
  });
});
