import { describe, expect, it } from 'vitest';
import { countFireTimes, fireTimesBetween, lastFireTimeBetween, nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { at, iso, spec } from './helpers.js';

const JAN1 = at('2026-01-01T00:00:00Z');

describe('parseCron: accepted forms', () => {
  it('standard 5-field', () => {
    const c = spec('*/20 9-10 * * MON-FRI');
    expect(c.dialect).toBe('standard');
    expect(iso(nextFireTimes(c, JAN1, 4))).toEqual([
      '2026-01-01T09:00:00.000Z', // Thursday
      '2026-01-01T09:20:00.000Z',
      '2026-01-01T09:40:00.000Z',
      '2026-01-01T10:00:00.000Z',
    ]);
  });

  it('6-field with seconds (no ?) uses standard weekday numbers', () => {
    const c = spec('30 0 9 * * 1');
    expect(c.dialect).toBe('standard');
    expect(iso(nextFireTimes(c, JAN1, 1))).toEqual(['2026-01-05T09:00:30.000Z']); // Monday
  });

  it('Quartz 0 0/15 * * * ? = every 15 minutes', () => {
    const c = spec('0 0/15 * * * ?');
    expect(c.dialect).toBe('quartz');
    expect(iso(nextFireTimes(c, JAN1, 3))).toEqual(['2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T00:45:00.000Z']);
  });

  it('Quartz 0 0 12 L * ? = noon on the last day of the month (and not on a weekday: ? is not "today")', () => {
    expect(iso(nextFireTimes(spec('0 0 12 L * ?'), JAN1, 4))).toEqual([
      '2026-01-31T12:00:00.000Z',
      '2026-02-28T12:00:00.000Z',
      '2026-03-31T12:00:00.000Z',
      '2026-04-30T12:00:00.000Z',
    ]);
    expect(iso(nextFireTimes(spec('0 0 12 L 2 ?'), at('2027-06-01T00:00:00Z'), 1))).toEqual(['2028-02-29T12:00:00.000Z']);
  });

  it('Quartz 0 0 9 ? * 2#1 = first Monday (Quartz 1 = SUN)', () => {
    const times = nextFireTimes(spec('0 0 9 ? * 2#1'), JAN1, 4);
    expect(iso(times)).toEqual([
      '2026-01-05T09:00:00.000Z',
      '2026-02-02T09:00:00.000Z',
      '2026-03-02T09:00:00.000Z',
      '2026-04-06T09:00:00.000Z',
    ]);
    for (const t of times) expect(t.getUTCDay()).toBe(1);
    // Named days mean the same in both dialects.
    expect(iso(nextFireTimes(spec('0 0 9 ? * MON#1'), JAN1, 4))).toEqual(iso(times));
    expect(iso(nextFireTimes(spec('0 9 * * 1#1'), JAN1, 4))).toEqual(iso(times));
  });

  it('Quartz 0 0 9 15W * ? = weekday nearest the 15th', () => {
    // 2026: Jan 15 Thu; Feb 15 Sun -> Mon 16; Mar 15 Sun -> Mon 16; Aug 15 Sat -> Fri 14; Nov 15 Sun -> Mon 16.
    const times = iso(nextFireTimes(spec('0 0 9 15W * ?'), JAN1, 12));
    expect(times).toEqual([
      '2026-01-15T09:00:00.000Z',
      '2026-02-16T09:00:00.000Z',
      '2026-03-16T09:00:00.000Z',
      '2026-04-15T09:00:00.000Z',
      '2026-05-15T09:00:00.000Z',
      '2026-06-15T09:00:00.000Z',
      '2026-07-15T09:00:00.000Z',
      '2026-08-14T09:00:00.000Z',
      '2026-09-15T09:00:00.000Z',
      '2026-10-15T09:00:00.000Z',
      '2026-11-16T09:00:00.000Z',
      '2026-12-15T09:00:00.000Z',
    ]);
  });

  it('W does not cross month boundaries; LW and L-n', () => {
    // 2026-08-01 is a Saturday: 1W -> Monday 3rd (not Friday July 31).
    expect(iso(nextFireTimes(spec('0 0 0 1W 8 ?'), JAN1, 1))).toEqual(['2026-08-03T00:00:00.000Z']);
    // 2026-05-31 is a Sunday: 31W -> Friday 29th.
    expect(iso(nextFireTimes(spec('0 0 0 31W 5 ?'), JAN1, 1))).toEqual(['2026-05-29T00:00:00.000Z']);
    // 31W is skipped in 30-day months.
    expect(iso(nextFireTimes(spec('0 0 0 31W * ?'), at('2026-04-01T00:00:00Z'), 1))).toEqual(['2026-05-29T00:00:00.000Z']);
    // LW: Jan 31 2026 Sat -> 30; Feb 28 Sat -> 27; May 31 Sun -> 29.
    expect(iso(nextFireTimes(spec('0 0 18 LW * ?'), JAN1, 5))).toEqual([
      '2026-01-30T18:00:00.000Z',
      '2026-02-27T18:00:00.000Z',
      '2026-03-31T18:00:00.000Z',
      '2026-04-30T18:00:00.000Z',
      '2026-05-29T18:00:00.000Z',
    ]);
    expect(iso(nextFireTimes(spec('0 0 0 L-3 * ?'), JAN1, 2))).toEqual(['2026-01-28T00:00:00.000Z', '2026-02-25T00:00:00.000Z']);
  });

  it('last weekday of month: Quartz 6L and standard 5L both = last Friday', () => {
    const expected = ['2026-01-30T09:00:00.000Z', '2026-02-27T09:00:00.000Z', '2026-03-27T09:00:00.000Z'];
    expect(iso(nextFireTimes(spec('0 0 9 ? * 6L'), JAN1, 3))).toEqual(expected);
    expect(iso(nextFireTimes(spec('0 9 * * 5L'), JAN1, 3))).toEqual(expected);
    expect(iso(nextFireTimes(spec('0 9 * * FRIL'), JAN1, 3))).toEqual(expected);
  });

  it('Quartz day-of-week ranges are shifted (2-6 = MON-FRI)', () => {
    const days = nextFireTimes(spec('0 0 12 ? * 2-6'), JAN1, 10).map((d) => d.getUTCDay());
    expect(new Set(days)).toEqual(new Set([1, 2, 3, 4, 5]));
    const wk = nextFireTimes(spec('0 0 12 ? * 1,7'), JAN1, 4).map((d) => d.getUTCDay());
    expect(new Set(wk)).toEqual(new Set([0, 6]));
    const sunToo = nextFireTimes(spec('0 0 12 ? * MON-SUN'), JAN1, 7).map((d) => d.getUTCDay());
    expect(new Set(sunToo).size).toBe(7);
  });

  it('7 fields with year * (Quartz / DolphinScheduler style)', () => {
    const c = spec('0 0 * * * ? *');
    expect(c.dialect).toBe('quartz');
    expect(iso(nextFireTimes(c, JAN1, 2))).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
  });

  it('nicknames and whitespace', () => {
    expect(spec('  @daily ').pattern).toBe('0 0 0 * * *');
    expect(spec('0\t9  * * *').pattern).toBe('0 0 9 * * *');
  });

  it('both day fields restricted in standard form = either matches (Vixie)', () => {
    const days = iso(nextFireTimes(spec('0 0 13 * 5'), JAN1, 3));
    expect(days).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-09T00:00:00.000Z', '2026-01-13T00:00:00.000Z']);
  });

  it('canonicalises the zone and round-trips as JSON', () => {
    const c = spec('0 9 * * *', 'america/new_york');
    expect(c.timezone).toBe('America/New_York');
    const back = JSON.parse(JSON.stringify(c));
    expect(iso(nextFireTimes(back, JAN1, 1))).toEqual(['2026-01-01T14:00:00.000Z']);
  });
});

describe('parseCron: rejections', () => {
  const bad = (expr: string, message: RegExp) => {
    const r = parseCron(expr, 'UTC');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe('cron');
      expect(r.message).toMatch(message);
    }
  };

  it.each([
    ['', /empty/],
    ['* * * *', /expected 5 fields/],
    ['0 0 0 * * * * *', /got 8/],
    ['0 0 0 * * ? 2027', /year field must be '\*'/],
    ['61 * * * *', /minute|Invalid value/i],
    ['* 24 * * *', /hour/i],
    ['0 0 32 * *', /day/i],
    ['0 0 * 13 *', /month/i],
    ['0 0 * * 8', /day-of-week/],
    ['0 0 0 ? * 0', /Quartz form uses 1-7/],
    ['0 0 9 ? * 2#6', /1-5/],
    ['0 0 0 ? * ?', /not both/],
    ['? 0 0 * * *', /'\?' is only allowed/],
    ['0 12 * * ? *', /AWS EventBridge/],
    ['0 0 9 1W,15W * ?', /'W' must follow a single day/],
    ['0 0 9 15W * MON', /cannot be combined/],
    ['0 0 9 L-31 * ?', /out of range/],
    ['*/0 * * * *', /step|stepping/i],
    ['5-1 * * * *', /larger/i],
    ['1.5 * * * *', /cannot parse/],
    ['abc * * * *', /cannot parse/],
    ['@reboot', /unknown nickname/],
    ['0 0 30 2 *', /never fires/],
  ])('%j', (expr, message) => bad(expr, message));

  it('invalid zone -> field timezone', () => {
    for (const tz of ['Mars/Olympus', '', 'Europe/Pariss', '+02:00']) {
      const r = parseCron('0 9 * * *', tz);
      expect(r).toMatchObject({ ok: false, field: 'timezone' });
      if (!r.ok) expect(r.message).toMatch(/time zone/);
    }
  });
});

describe('enumeration helpers', () => {
  const hourly = spec('0 * * * *');

  it('nextFireTimes is strictly after `after` and honours until (inclusive)', () => {
    expect(iso(nextFireTimes(hourly, at('2026-01-01T01:00:00Z'), 2))).toEqual(['2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
    expect(iso(nextFireTimes(hourly, at('2026-01-01T00:59:59.999Z'), 1))).toEqual(['2026-01-01T01:00:00.000Z']);
    expect(iso(nextFireTimes(hourly, JAN1, 10, { until: at('2026-01-01T03:00:00Z') }))).toHaveLength(3);
    expect(nextFireTimes(hourly, JAN1, 0)).toEqual([]);
    expect(() => nextFireTimes(hourly, new Date(Number.NaN), 1)).toThrow(RangeError);
  });

  it('fireTimesBetween caps and reports truncation', () => {
    const r = fireTimesBetween(hourly, JAN1, at('2026-01-01T05:00:00Z'), 3);
    expect(r).toEqual({ times: [at('2026-01-01T01:00:00Z'), at('2026-01-01T02:00:00Z'), at('2026-01-01T03:00:00Z')], truncated: true });
    expect(fireTimesBetween(hourly, JAN1, at('2026-01-01T05:00:00Z'), 5).truncated).toBe(false);
    expect(fireTimesBetween(hourly, JAN1, JAN1, 5)).toEqual({ times: [], truncated: false });
  });

  it('lastFireTimeBetween and countFireTimes', () => {
    expect(lastFireTimeBetween(hourly, JAN1, at('2026-03-04T05:30:00Z'))).toEqual(at('2026-03-04T05:00:00Z'));
    expect(lastFireTimeBetween(hourly, JAN1, at('2026-01-01T00:30:00Z'))).toBeUndefined();
    expect(lastFireTimeBetween(spec('@yearly'), at('2020-06-01T00:00:00Z'), at('2026-06-01T00:00:00Z'))).toEqual(JAN1);
    expect(countFireTimes(hourly, JAN1, at('2026-01-02T00:00:00Z'), 1000)).toEqual({ count: 24, exact: true });
    expect(countFireTimes(hourly, JAN1, at('2026-01-02T00:00:00Z'), 10)).toEqual({ count: 10, exact: false });
  });
});
