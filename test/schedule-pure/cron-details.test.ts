/**
 * The details of reading an expression that a user meets one at a time: names in any case, Quartz
 * ranges that wrap past midnight, `a/step`, `L` with other days, the last weekday of a month that ends
 * on it, refusals with their exact messages (they reach the API's 400), and the end of the Date range.
 */
import { describe, expect, it } from 'vitest';
import { nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { at, iso, spec } from './helpers.js';

const JAN1 = at('2026-01-01T00:00:00Z'); // a Thursday
const refusal = (expr: string) => {
  const r = parseCron(expr, 'UTC');
  if (r.ok) throw new Error(`'${expr}' was accepted`);
  expect(r.field).toBe('cron');
  return r.message;
};

describe('names, steps and ranges', () => {
  it('day and month names in any case, and nicknames in any case', () => {
    expect(iso(nextFireTimes(spec('0 9 * jan,Jul mon-Fri'), JAN1, 2))).toEqual(['2026-01-01T09:00:00.000Z', '2026-01-02T09:00:00.000Z']);
    expect(iso(nextFireTimes(spec('0 9 1 jUl *'), JAN1, 1))).toEqual(['2026-07-01T09:00:00.000Z']);
    expect(spec('@DAILY').pattern).toBe('0 0 0 * * *');
    expect(spec('@Hourly').pattern).toBe('0 0 * * * *');
  });

  it('a/step runs from a to the end of the field; a alone is one value', () => {
    expect(spec('5/20 * * * *').pattern).toBe('0 5/20 * * * *');
    expect(iso(nextFireTimes(spec('5/20 * * * *'), JAN1, 4))).toEqual([
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:25:00.000Z',
      '2026-01-01T00:45:00.000Z',
      '2026-01-01T01:05:00.000Z',
    ]);
    expect(iso(nextFireTimes(spec('10-40/15 7 * * *'), JAN1, 4))).toEqual([
      '2026-01-01T07:10:00.000Z',
      '2026-01-01T07:25:00.000Z',
      '2026-01-01T07:40:00.000Z',
      '2026-01-02T07:10:00.000Z',
    ]);
    expect(iso(nextFireTimes(spec('59 23 31 12 *'), JAN1, 1))).toEqual(['2026-12-31T23:59:00.000Z']);
  });

  it('Quartz hour range 22-2 wraps past midnight: 22, 23, 0, 1, 2', () => {
    const hours = nextFireTimes(spec('0 0 22-2 * * ?'), JAN1, 6).map((t) => t.getUTCHours());
    expect(hours).toEqual([1, 2, 22, 23, 0, 1]); // strictly after 00:00
    // A Quartz minute range 50-10/10 wraps too: 50, 0, 10.
    expect(nextFireTimes(spec('0 50-10/10 3 * * ?'), JAN1, 3).map((t) => t.getUTCMinutes())).toEqual([0, 10, 50]);
  });

  it('a Quartz month range that wraps, with a step: SEP-FEB/3 = September and December', () => {
    expect(iso(nextFireTimes(spec('0 0 0 1 SEP-FEB/3 ?'), JAN1, 3))).toEqual([
      '2026-09-01T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
      '2027-09-01T00:00:00.000Z',
    ]);
  });

  it('? in a day field of a 5-field expression keeps cron numbering (1 = Monday)', () => {
    const c = spec('0 9 ? * 1');
    expect(c.dialect).toBe('standard');
    expect(iso(nextFireTimes(c, JAN1, 1))).toEqual(['2026-01-05T09:00:00.000Z']);
  });

  it('cron 7 and SUN are Sunday, as a value, with # and with L', () => {
    expect(iso(nextFireTimes(spec('0 9 * * 7'), JAN1, 1))).toEqual(['2026-01-04T09:00:00.000Z']);
    expect(iso(nextFireTimes(spec('0 9 * * 7#2'), JAN1, 1))).toEqual(['2026-01-11T09:00:00.000Z']);
    expect(iso(nextFireTimes(spec('0 9 * * 0L'), JAN1, 1))).toEqual(['2026-01-25T09:00:00.000Z']);
    expect(iso(nextFireTimes(spec('0 0 9 ? * 1L'), JAN1, 1))).toEqual(['2026-01-25T09:00:00.000Z']);
  });
});

describe('day fields', () => {
  it('L with other days: the 1st and the last day', () => {
    expect(iso(nextFireTimes(spec('0 0 0 1,L * ?'), JAN1, 4))).toEqual([
      '2026-01-31T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-02-28T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
  });

  it('31W does not fire in a 30-day month, even when the 1st after it is a Saturday (April 2027 ends on a Friday)', () => {
    expect(iso(nextFireTimes(spec('0 0 0 31W * ?'), at('2027-04-01T00:00:00Z'), 1))).toEqual(['2027-05-31T00:00:00.000Z']);
  });

  it('a Quartz day-of-month range wraps past the month end; cron refuses it', () => {
    const days = nextFireTimes(spec('0 0 0 29-2 * ?'), JAN1, 6).map((t) => t.getUTCDate());
    expect(days).toEqual([2, 29, 30, 31, 1, 2]); // strictly after 1 January 00:00
    expect(refusal('0 0 29-2 * *')).toMatch(/day-of-month: range '29-2': from value is larger than to value/);
  });

  it('zero-padded weekdays with # and L', () => {
    expect(iso(nextFireTimes(spec('0 9 * * 05L'), JAN1, 1))).toEqual(['2026-01-30T09:00:00.000Z']);
    expect(iso(nextFireTimes(spec('0 9 * * 01#2'), JAN1, 1))).toEqual(['2026-01-12T09:00:00.000Z']);
  });

  it('L-0 is the last day', () => {
    expect(iso(nextFireTimes(spec('0 0 0 L-0 * ?'), JAN1, 2))).toEqual(['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z']);
  });

  it('the last Friday of a month that ends on a Friday is that day, not the Friday before (July 2026)', () => {
    const last = ['2026-07-31T09:00:00.000Z', '2026-08-28T09:00:00.000Z'];
    expect(iso(nextFireTimes(spec('0 0 9 ? * 6L'), at('2026-07-01T00:00:00Z'), 2))).toEqual(last);
    expect(iso(nextFireTimes(spec('0 9 * * 5#L'), at('2026-07-01T00:00:00Z'), 2))).toEqual(last);
  });

  it('the 5th Thursday exists only in months with five (January, April, July, October 2026)', () => {
    expect(iso(nextFireTimes(spec('0 9 * * 4#5'), JAN1, 4))).toEqual([
      '2026-01-29T09:00:00.000Z',
      '2026-04-30T09:00:00.000Z',
      '2026-07-30T09:00:00.000Z',
      '2026-10-29T09:00:00.000Z',
    ]);
  });

  it('Quartz L alone in day-of-week is Saturday', () => {
    expect(iso(nextFireTimes(spec('0 0 9 ? * L'), JAN1, 2))).toEqual(['2026-01-03T09:00:00.000Z', '2026-01-10T09:00:00.000Z']);
  });

  it('day-of-month and a weekday list both restricted in cron: either matches (1st, 15th, and Sundays)', () => {
    expect(iso(nextFireTimes(spec('0 0 1,15 * SUN'), at('2025-12-31T12:00:00Z'), 5))).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-04T00:00:00.000Z',
      '2026-01-11T00:00:00.000Z',
      '2026-01-15T00:00:00.000Z',
      '2026-01-18T00:00:00.000Z',
    ]);
    // With a *-led day-of-month, both must match: the Sundays among odd dates.
    expect(iso(nextFireTimes(spec('0 0 */2 * SUN'), JAN1, 2))).toEqual(['2026-01-11T00:00:00.000Z', '2026-01-25T00:00:00.000Z']);
  });
});

describe('refusals name the field and the reason', () => {
  it.each([
    ['61 * * * *', "invalid cron expression '61 * * * *': minute: 61 is out of range (0-59)"],
    ['60 0 0 * * *', "invalid cron expression '60 0 0 * * *': second: 60 is out of range (0-59)"],
    ['0 0 * * 8', "invalid cron expression '0 0 * * 8': day-of-week: 8 is out of range (0-7, 0 and 7 = SUN)"],
    ['0 0 0 ? * 0', "invalid cron expression '0 0 0 ? * 0': day-of-week: 0 is out of range (Quartz form uses 1-7, 1 = SUN)"],
    ['0 x * * *', "invalid cron expression '0 x * * *': hour: cannot parse 'x' (not a number)"],
    ['0 0 1 XYZ *', "invalid cron expression '0 0 1 XYZ *': month: cannot parse 'XYZ' (not a number or a name)"],
    ['0 0 1 0005 *', "invalid cron expression '0 0 1 0005 *': month: cannot parse '0005' (not a number or a name)"],
    ['*/0 * * * *', "invalid cron expression '*/0 * * * *': minute: step must be at least 1 in '*/0'"],
    ['1,,2 * * * *', "invalid cron expression '1,,2 * * * *': minute: empty list item in '1,,2'"],
    ['1-2-3 * * * *', "invalid cron expression '1-2-3 * * * *': minute: cannot parse '1-2-3'"],
    [
      '5-1 * * * *',
      "invalid cron expression '5-1 * * * *': minute: range '5-1': from value is larger than to value (wrap-around ranges are read only in Quartz form)",
    ],
    ['0 0 0W * ?', "invalid cron expression '0 0 0W * ?': day-of-month: '0W' is out of range (1W-31W)"],
    ['0 0 0 32W * ?', "invalid cron expression '0 0 0 32W * ?': day-of-month: '32W' is out of range (1W-31W)"],
    ['0 0 0 L,L * ?', "invalid cron expression '0 0 0 L,L * ?': day-of-month: cannot parse 'L,L'"],
    ['0 0 0 1,L-5 * ?', "invalid cron expression '0 0 0 1,L-5 * ?': day-of-month: cannot parse 'L' (not a number)"],
    ['0 0 0 L-5,1 * ?', "invalid cron expression '0 0 0 L-5,1 * ?': day-of-month: cannot parse 'L' (not a number)"],
    ['0 9 * * 2#10', "invalid cron expression '0 9 * * 2#10': day-of-week: '#10' must be 1-5"],
    ['0 9 * * 2#1x', "invalid cron expression '0 9 * * 2#1x': day-of-week: cannot parse '2#1x'"],
    ['0 9 * * 1-2#1', "invalid cron expression '0 9 * * 1-2#1': day-of-week: cannot parse '1-2#1'"],
    ['0 0 9 ? * 2#0', "invalid cron expression '0 0 9 ? * 2#0': day-of-week: '#0' must be 1-5"],
    ['0 9 * * MON,', "invalid cron expression '0 9 * * MON,': day-of-week: empty list item"],
    [
      '0 9 * * L',
      "invalid cron expression '0 9 * * L': day-of-week: 'L' alone is only meaningful in Quartz form (= SAT); use e.g. 5L for the last Friday",
    ],
    ['0 9 L-2 * 1', "invalid cron expression '0 9 L-2 * 1': day-of-month 'W'/'LW'/'L-n' cannot be combined with a day-of-week"],
    ['0 9 LW * MON', "invalid cron expression '0 9 LW * MON': day-of-month 'W'/'LW'/'L-n' cannot be combined with a day-of-week"],
    [
      '@every',
      "invalid cron expression '@every': unknown nickname '@every' (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
    ],
    [
      '* * * *',
      "invalid cron expression '* * * *': expected 5 fields (min hour day month weekday), 6 (with seconds first) or 7 (Quartz, with year last); got 4",
    ],
    [
      '0 0 0 * * ? 2027',
      "invalid cron expression '0 0 0 * * ? 2027': the year field must be '*' (restricting years is not supported), got '2027'",
    ],
    ['0 0 1? * *', "invalid cron expression '0 0 1? * *': '?' is only allowed as the whole day-of-month or day-of-week field"],
    ['0 ? * * *', "invalid cron expression '0 ? * * *': '?' is only allowed as the whole day-of-month or day-of-week field"],
    ['? 0 0 * * *', "invalid cron expression '? 0 0 * * *': '?' is only allowed as the whole day-of-month or day-of-week field"],
    ['0 0 ? * * ? *', "invalid cron expression '0 0 ? * * ? *': '?' is only allowed as the whole day-of-month or day-of-week field"],
    [
      '0 12 ? * MON *',
      "invalid cron expression '0 12 ? * MON *': '?' is only allowed as the whole day-of-month or day-of-week field (this looks like an AWS EventBridge expression, which has no seconds field; Quartz form starts with seconds)",
    ],
    ['0 0 0 ? * ?', "invalid cron expression '0 0 0 ? * ?': '?' can be used in day-of-month or day-of-week, not both"],
    [
      '0 0 0 13 * 6 *',
      "invalid cron expression '0 0 0 13 * 6 *': Quartz form: set one day field and put '?' in the other (e.g. '0 0 0 13 * ? *'); both day fields together are not supported",
    ],
    ['0 0 30 2 *', "cron expression '0 0 30 2 *' never fires: no day of the months it lists matches its day fields"],
  ])('%s', (expr, message) => expect(refusal(expr)).toBe(message));

  it('an empty expression and an unknown zone', () => {
    expect(refusal('   ')).toBe('cron expression is empty');
    expect(parseCron('0 9 * * *', 'Mars/Olympus')).toEqual({
      ok: false,
      field: 'timezone',
      message: "unknown time zone 'Mars/Olympus' (expected an IANA name such as 'Europe/Paris' or 'UTC')",
    });
  });

  it('an accepted expression: dialect and the six fields read', () => {
    expect(parseCron(' 0 0 12 ? * MON-FRI * ', 'utc')).toEqual({
      ok: true,
      cron: { expression: '0 0 12 ? * MON-FRI *', timezone: 'UTC', dialect: 'quartz', pattern: '0 0 12 ? * MON-FRI', everyHour: false },
    });
    expect(parseCron('0 0-23 * * *', 'UTC')).toMatchObject({ ok: true, cron: { dialect: 'standard', everyHour: true } });
    expect(parseCron('0 0-22 * * *', 'UTC')).toMatchObject({ ok: true, cron: { everyHour: false } });
  });
});

describe('the end of the Date range', () => {
  it('no fire time past the last representable date (13 September 275760): an empty answer, no error', () => {
    const nearEnd = new Date(8.64e15 - 40 * 86_400_000); // early August 275760
    expect(nextFireTimes(spec('0 0 1 1 *'), nearEnd, 1)).toEqual([]);
    expect(iso(nextFireTimes(spec('0 0 * * *'), nearEnd, 1))).toEqual(['+275760-08-05T00:00:00.000Z']);
  });
});
