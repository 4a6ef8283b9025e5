/**
 * Daylight-saving behaviour (observed and enforced):
 * - spring-forward gap: a non-existent wall time fires once, at the instant the clocks jump
 *   (NY 02:30 on 2026-03-08 -> 03:00 EDT = 07:00Z); hour-wildcard patterns just keep firing on every
 *   real hour (no extra, no duplicate).
 * - fall-back overlap: fixed-hour patterns fire once, at the first occurrence; hour-wildcard patterns
 *   fire at both instants (every real hour runs).
 */
import { describe, expect, it } from 'vitest';
import { type CronSpec, formatFireTime, nextFireTimes } from '../../functions/engine/schedule/index.js';
import { at, iso, spec } from './helpers.js';

const HOUR = 3_600_000;

/** All fire times whose local date (in the spec's zone) is `date`. */
function onLocalDate(c: CronSpec, date: string): string[] {
  const from = new Date(Date.parse(`${date}T00:00:00Z`) - 2 * 86_400_000);
  const until = new Date(Date.parse(`${date}T00:00:00Z`) + 2 * 86_400_000);
  return iso(nextFireTimes(c, from, 10_000, { until }).filter((t) => formatFireTime(t, c.timezone, 'date') === date));
}

describe('America/New_York', () => {
  const NY = 'America/New_York';

  it('spring 2026-03-08: daily 02:30 (does not exist) fires once, at the jump (03:00 EDT)', () => {
    const c = spec('30 2 * * *', NY);
    expect(iso(nextFireTimes(c, at('2026-03-06T12:00:00Z'), 4))).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT: the instant 02:00 EST became 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ]);
    expect(formatFireTime(at('2026-03-08T07:00:00Z'), NY, 'local')).toBe('2026-03-08T03:00:00-04:00');
  });

  it('spring: several wall times in the gap collapse into one fire, no duplicate with 03:00', () => {
    expect(onLocalDate(spec('0 0,30 2,3 * * *', NY), '2026-03-08')).toEqual([
      '2026-03-08T07:00:00.000Z', // 02:00, 02:30 and 03:00 (all the same instant)
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
    ]);
  });

  it('spring: hourly fires on each of the 23 real hours', () => {
    const c = spec('0 * * * *', NY);
    expect(iso(nextFireTimes(c, at('2026-03-08T04:30:00Z'), 4))).toEqual([
      '2026-03-08T05:00:00.000Z', // 00:00 EST
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-08T08:00:00.000Z', // 04:00 EDT
    ]);
    expect(onLocalDate(c, '2026-03-08')).toHaveLength(23);
  });

  it('fall 2026-11-01: daily 01:30 fires once (01:30 EDT), not twice', () => {
    const c = spec('30 1 * * *', NY);
    expect(iso(nextFireTimes(c, at('2026-10-30T12:00:00Z'), 4))).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // 01:30 EDT (first occurrence)
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
    expect(onLocalDate(c, '2026-11-01')).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('fall: asked from inside the repeated hour, the answer is still strictly later', () => {
    // 06:15Z = 01:15 EST (second pass). croner's own zone mode answers 05:30Z here (earlier than asked).
    const c = spec('30 1 * * *', NY);
    expect(iso(nextFireTimes(c, at('2026-11-01T06:15:00Z'), 1))).toEqual(['2026-11-02T06:30:00.000Z']);
    expect(iso(nextFireTimes(c, at('2026-11-01T05:45:00Z'), 1))).toEqual(['2026-11-02T06:30:00.000Z']);
  });

  it('fall: hourly fires for each real hour, both 01:00 instants (25 on the day)', () => {
    const c = spec('0 * * * *', NY);
    expect(iso(nextFireTimes(c, at('2026-11-01T03:30:00Z'), 5))).toEqual([
      '2026-11-01T04:00:00.000Z', // 00:00 EDT
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST (croner alone skips this one)
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T08:00:00.000Z',
    ]);
    expect(onLocalDate(c, '2026-11-01')).toHaveLength(25);
    // Starting inside the second pass.
    expect(iso(nextFireTimes(c, at('2026-11-01T05:30:00Z'), 2))).toEqual(['2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z']);
  });

  it('fall: Quartz every-15-minutes keeps a steady 15-minute cadence through both passes', () => {
    const times = nextFireTimes(spec('0 0/15 * * * ?', NY), at('2026-11-01T04:50:00Z'), 12);
    expect(times[0]?.toISOString()).toBe('2026-11-01T05:00:00.000Z');
    for (let i = 1; i < times.length; i++) expect((times[i] as Date).getTime() - (times[i - 1] as Date).getTime()).toBe(HOUR / 4);
  });
});

describe('Europe/Paris', () => {
  const PARIS = 'Europe/Paris';

  it('spring 2026-03-29: daily 02:30 fires once at 03:00 CEST; hourly has 23 fires', () => {
    expect(iso(nextFireTimes(spec('30 2 * * *', PARIS), at('2026-03-27T12:00:00Z'), 3))).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(onLocalDate(spec('0 * * * *', PARIS), '2026-03-29')).toHaveLength(23);
  });

  it('fall 2026-10-25: daily 02:30 once (02:30 CEST); hourly fires at both 02:00', () => {
    expect(onLocalDate(spec('30 2 * * *', PARIS), '2026-10-25')).toEqual(['2026-10-25T00:30:00.000Z']);
    const hourly = spec('0 * * * *', PARIS);
    expect(iso(nextFireTimes(hourly, at('2026-10-24T23:30:00Z'), 3))).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
    expect(onLocalDate(hourly, '2026-10-25')).toHaveLength(25);
  });
});

describe('Australia/Sydney (southern hemisphere)', () => {
  const SYD = 'Australia/Sydney';

  it('fall-back 2026-04-05 (03:00 AEDT -> 02:00 AEST): daily 02:30 once, hourly twice at 02:00', () => {
    expect(onLocalDate(spec('30 2 * * *', SYD), '2026-04-05')).toEqual(['2026-04-04T15:30:00.000Z']); // 02:30 AEDT
    const hourly = onLocalDate(spec('0 * * * *', SYD), '2026-04-05');
    expect(hourly).toHaveLength(25);
    expect(hourly).toContain('2026-04-04T15:00:00.000Z'); // 02:00 AEDT
    expect(hourly).toContain('2026-04-04T16:00:00.000Z'); // 02:00 AEST
  });

  it('spring-forward 2026-10-04 (02:00 AEST -> 03:00 AEDT): daily 02:00 fires once at the jump', () => {
    expect(onLocalDate(spec('0 2 * * *', SYD), '2026-10-04')).toEqual(['2026-10-03T16:00:00.000Z']);
    expect(formatFireTime(at('2026-10-03T16:00:00Z'), SYD, 'local')).toBe('2026-10-04T03:00:00+11:00');
    expect(onLocalDate(spec('0 * * * *', SYD), '2026-10-04')).toHaveLength(23);
  });
});

describe('whole-year invariants for 2026', () => {
  // America/Santiago changes at midnight (00:00 does not exist on its spring-forward day).
  const zones = ['America/New_York', 'Europe/Paris', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'UTC'];
  const start = at('2025-12-31T00:00:00Z');
  const end = at('2027-01-02T00:00:00Z');

  it.each(zones)('%s: hourly = exactly one fire per real hour', (zone) => {
    const times = nextFireTimes(spec('0 * * * *', zone), start, 20_000, { until: end });
    // Lord Howe shifts by 30 minutes: there the gap/overlap moves one hourly fire by 30 minutes.
    const gaps = new Set(times.slice(1).map((t, i) => t.getTime() - (times[i] as Date).getTime()));
    if (zone === 'Australia/Lord_Howe') expect([...gaps].every((g) => g >= HOUR / 2 && g <= HOUR * 1.5)).toBe(true);
    else expect(gaps).toEqual(new Set([HOUR]));
  });

  it.each(zones)('%s: fixed daily times fire exactly once per local day', (zone) => {
    for (const expr of ['30 1 * * *', '30 2 * * *', '0 2 * * *', '0 3 * * *', '0 0 * * *']) {
      const times = nextFireTimes(spec(expr, zone), start, 2_000, { until: end });
      const dates = times.map((t) => formatFireTime(t, zone, 'date')).filter((d) => d.startsWith('2026-'));
      expect(dates.length, expr).toBe(365);
      expect(new Set(dates).size, expr).toBe(365);
    }
  });
});
