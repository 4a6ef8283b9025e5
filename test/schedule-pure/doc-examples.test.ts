/**
 * Every example of docs/schedules.md "Cron rules", with the fire times the doc states (local time with
 * offset), each also checked against the independent reference.
 */
import { describe, expect, it } from 'vitest';
import { formatFireTime, nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { referenceFireTimes } from './reference/fire-times.js';

const UTC = 'UTC';
const day = (d: string) => `${d}+00:00`;

const EXAMPLES: [expr: string, zone: string, from: string, local: string[]][] = [
  ['0 9 * * 1', UTC, '2026-01-01T00:00:00Z', [day('2026-01-05T09:00:00'), day('2026-01-12T09:00:00')]],
  ['0 0 9 * * 1', UTC, '2026-01-01T00:00:00Z', [day('2026-01-05T09:00:00'), day('2026-01-12T09:00:00')]],
  ['0 0 9 ? * 2', UTC, '2026-01-01T00:00:00Z', [day('2026-01-05T09:00:00'), day('2026-01-12T09:00:00')]],
  ['0 0 13 * 5', UTC, '2026-01-01T00:00:00Z', ['2026-01-02', '2026-01-09', '2026-01-13', '2026-01-16'].map((d) => day(`${d}T00:00:00`))],
  ['0 0 */2 * 1', UTC, '2026-01-01T00:00:00Z', ['2026-01-05', '2026-01-19', '2026-02-09', '2026-02-23'].map((d) => day(`${d}T00:00:00`))],
  ['0 12 * * SUN-SUN', UTC, '2026-01-01T00:00:00Z', [day('2026-01-04T12:00:00'), day('2026-01-11T12:00:00')]],
  ['0 12 * * MON-SUN', UTC, '2026-01-01T00:00:00Z', ['2026-01-01', '2026-01-02', '2026-01-03'].map((d) => day(`${d}T12:00:00`))],
  [
    '0 0 12 ? * FRI-MON',
    UTC,
    '2026-01-01T00:00:00Z',
    ['2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05', '2026-01-09'].map((d) => day(`${d}T12:00:00`)),
  ],
  ['0 0 0 L-30 * ?', UTC, '2026-01-01T00:00:00Z', ['2026-03-01', '2026-05-01', '2026-07-01'].map((d) => day(`${d}T00:00:00`))],
  ['0 0 18 LW * ?', UTC, '2026-01-01T00:00:00Z', ['2026-01-30', '2026-02-27', '2026-03-31'].map((d) => day(`${d}T18:00:00`))],
  ['0 0 9 31W * ?', UTC, '2026-01-01T00:00:00Z', ['2026-01-30', '2026-03-31', '2026-05-29'].map((d) => day(`${d}T09:00:00`))],
  ['0 0 9 1W * ?', UTC, '2026-07-15T00:00:00Z', [day('2026-08-03T09:00:00')]],
  [
    '0 0-23 * * *',
    'Europe/London',
    '2026-10-24T23:30:00Z',
    ['2026-10-25T01:00:00+01:00', '2026-10-25T01:00:00+00:00', '2026-10-25T02:00:00+00:00'],
  ],
  [
    '0 0-22 * * *',
    'Europe/London',
    '2026-10-24T22:30:00Z',
    ['2026-10-25T00:00:00+01:00', '2026-10-25T01:00:00+01:00', '2026-10-25T02:00:00+00:00'],
  ],
  [
    '30 2 * * *',
    'Europe/Paris',
    '2026-03-28T00:00:00Z',
    ['2026-03-28T02:30:00+01:00', '2026-03-29T03:00:00+02:00', '2026-03-30T02:30:00+02:00'],
  ],
  [
    '0 */2 * * *',
    'America/New_York',
    '2026-03-08T04:30:00Z',
    ['2026-03-08T00:00:00-05:00', '2026-03-08T03:00:00-04:00', '2026-03-08T04:00:00-04:00'],
  ],
  ['30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00']],
  [
    '30 * * * *',
    'America/New_York',
    '2026-11-01T04:00:00Z',
    ['2026-11-01T00:30:00-04:00', '2026-11-01T01:30:00-04:00', '2026-11-01T01:30:00-05:00'],
  ],
  ['15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', ['2026-10-04T02:30:00+11:00', '2026-10-05T02:15:00+11:00']],
  [
    '*/15 * * * *',
    'Australia/Lord_Howe',
    '2026-04-04T14:20:00Z',
    [
      '2026-04-05T01:30:00+11:00',
      '2026-04-05T01:45:00+11:00',
      '2026-04-05T01:30:00+10:30',
      '2026-04-05T01:45:00+10:30',
      '2026-04-05T02:00:00+10:30',
    ],
  ],
  [
    '0 12 * * *',
    'Pacific/Apia',
    '2011-12-29T00:00:00Z',
    ['2011-12-29T12:00:00-10:00', '2011-12-31T00:00:00+14:00', '2011-12-31T12:00:00+14:00'],
  ],
  ['0 * * * *', 'Pacific/Apia', '2011-12-30T08:30:00Z', ['2011-12-29T23:00:00-10:00', '2011-12-31T00:00:00+14:00']],
];

describe('docs/schedules.md cron rules', () => {
  it.each(EXAMPLES)('%s in %s after %s', (expr, zone, from, local) => {
    const r = parseCron(expr, zone);
    if (!r.ok) throw new Error(r.message);
    const times = nextFireTimes(r.cron, new Date(from), local.length);
    expect(times.map((t) => formatFireTime(t, zone, 'local'))).toEqual(local);
    const until = (times[times.length - 1] as Date).getTime();
    expect(referenceFireTimes(expr, zone, Date.parse(from), until, local.length)).toEqual(times.map(Number));
  });

  it.each([
    ['0 0 31 4,6,9,11 *', /never fires/],
    ['0 0 9 30W 2 ?', /never fires/],
    ['0 0 0 13 * 6 *', /put '\?' in the other/],
    ['0 12 * * FRI-MON', /from value is larger than to value/],
  ])('%s is refused', (expr, message) => {
    const r = parseCron(expr, UTC);
    expect(r).toMatchObject({ ok: false, field: 'cron' });
    if (!r.ok) expect(r.message).toMatch(message);
  });
});
