/**
 * What the enumeration functions do with inputs a caller could get wrong (they throw a RangeError that
 * names the argument; parseCron never throws), zone names with stray spaces, and dates before the
 * year 100 (Date.UTC maps years 0-99 to the 1900s; the engine must not).
 */
import { describe, expect, it } from 'vitest';
import { countFireTimes, fireTimesBetween, lastFireTimeBetween, nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { at, iso, spec } from './helpers.js';

const JAN1 = at('2026-01-01T00:00:00Z');
const hourly = spec('0 * * * *');
const invalid = new Date(Number.NaN);

describe('arguments', () => {
  it('nextFireTimes: count and dates', () => {
    expect(() => nextFireTimes(hourly, JAN1, -1)).toThrow(new RangeError('count must be a non-negative integer'));
    expect(() => nextFireTimes(hourly, JAN1, 1.5)).toThrow(new RangeError('count must be a non-negative integer'));
    expect(() => nextFireTimes(hourly, invalid, 1)).toThrow(new RangeError('after must be a valid Date'));
    expect(() => nextFireTimes(hourly, '2026-01-01' as never, 1)).toThrow(new RangeError('after must be a valid Date'));
    expect(() => nextFireTimes(hourly, JAN1, 1, { until: invalid })).toThrow(new RangeError('until must be a valid Date'));
    expect(nextFireTimes(hourly, JAN1, 0, { until: at('2026-02-01T00:00:00Z') })).toEqual([]);
    expect(nextFireTimes(hourly, JAN1, 5, { until: JAN1 })).toEqual([]);
    expect(iso(nextFireTimes(hourly, JAN1, 5, { until: at('2026-01-01T01:00:00Z') }))).toEqual(['2026-01-01T01:00:00.000Z']);
  });

  it('fireTimesBetween, lastFireTimeBetween and countFireTimes', () => {
    const to = at('2026-01-01T03:00:00Z');
    expect(() => fireTimesBetween(hourly, JAN1, to, -1)).toThrow(new RangeError('cap must be a non-negative integer'));
    expect(() => fireTimesBetween(hourly, JAN1, to, 0.5)).toThrow(new RangeError('cap must be a non-negative integer'));
    expect(fireTimesBetween(hourly, JAN1, to, 0)).toEqual({ times: [], truncated: true });
    expect(fireTimesBetween(hourly, JAN1, to, 3)).toEqual({ times: [1, 2, 3].map((h) => at(`2026-01-01T0${h}:00:00Z`)), truncated: false });
    expect(() => lastFireTimeBetween(hourly, invalid, to)).toThrow(new RangeError('fromExclusive must be a valid Date'));
    expect(() => lastFireTimeBetween(hourly, JAN1, invalid)).toThrow(new RangeError('toInclusive must be a valid Date'));
    expect(lastFireTimeBetween(hourly, to, JAN1)).toBeUndefined();
    expect(lastFireTimeBetween(hourly, JAN1, at('2026-01-01T01:00:00Z'))).toEqual(at('2026-01-01T01:00:00Z'));
    expect(lastFireTimeBetween(spec('* * * * * *'), JAN1, at('2026-01-01T00:00:01.500Z'))).toEqual(at('2026-01-01T00:00:01Z'));
    expect(() => countFireTimes(hourly, invalid, to, 5)).toThrow(new RangeError('fromExclusive must be a valid Date'));
    expect(() => countFireTimes(hourly, JAN1, invalid, 5)).toThrow(new RangeError('toInclusive must be a valid Date'));
    expect(countFireTimes(hourly, to, JAN1, 5)).toEqual({ count: 0, exact: true });
    expect(countFireTimes(hourly, JAN1, to, 3)).toEqual({ count: 3, exact: true });
    expect(countFireTimes(hourly, JAN1, to, 2)).toEqual({ count: 2, exact: false });
  });

  it('parseCron never throws on a value that is not a string', () => {
    expect(parseCron(5 as never, 'UTC')).toEqual({ ok: false, field: 'cron', message: 'cron expression is empty' });
    expect(parseCron(undefined as never, 'UTC')).toEqual({ ok: false, field: 'cron', message: 'cron expression is empty' });
    expect(parseCron('0 9 * * *', 7 as never)).toMatchObject({
      ok: false,
      field: 'timezone',
      message: "unknown time zone '7' (expected an IANA name such as 'Europe/Paris' or 'UTC')",
    });
    expect(parseCron('0 9 * * *', '  ')).toMatchObject({ ok: false, field: 'timezone' });
  });

  it('a stored spec whose expression cannot be read at all never fires, and is not an error', () => {
    const unreadable = { ...hourly, expression: 'not a cron' };
    expect(nextFireTimes(unreadable, JAN1, 3)).toEqual([]);
    expect(countFireTimes(unreadable, JAN1, at('2026-02-01T00:00:00Z'), 10)).toEqual({ count: 0, exact: true });
  });

  it('a zone name with stray spaces is read, and canonicalised', () => {
    expect(parseCron('0 9 * * *', ' europe/paris ')).toMatchObject({ ok: true, cron: { timezone: 'Europe/Paris' } });
  });
});

describe('the years 1-99', () => {
  it('fire times and local wall times in the first century are in that century', () => {
    expect(iso(nextFireTimes(spec('0 0 1 1 *'), at('0050-06-01T00:00:00Z'), 2))).toEqual([
      '0051-01-01T00:00:00.000Z',
      '0052-01-01T00:00:00.000Z',
    ]);
    // Paris local mean time then was +00:09:21: midnight local is 23:50:39 UTC the day before.
    expect(iso(nextFireTimes(spec('0 0 1 1 *', 'Europe/Paris'), at('0050-06-01T00:00:00Z'), 1))).toEqual(['0050-12-31T23:50:39.000Z']);
  });
});
