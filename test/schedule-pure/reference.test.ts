/**
 * The engine's fire times against an independent brute-force reference (./reference/), for random
 * expressions from a grammar × zones with unusual offset changes × starts near transitions.
 * BATON_CRON_PROPERTY_RUNS (default 100) sets the number of random cases; raise it for a longer run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { numRuns } from '../support/fc-runs.js';
import { referenceFireTimes } from './reference/fire-times.js';

const RUNS = Number(process.env.BATON_CRON_PROPERTY_RUNS ?? 100);
const N = 12;
const HORIZON = 400 * 86_400_000;
const HOUR = 3_600_000;

const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/London',
  'Europe/Paris',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/Santiago',
  'Pacific/Apia',
];

/** Instants near offset changes (approximate on purpose: starts land before, inside and after them). */
const TRANSITIONS = [
  '2026-03-08T07:00:00Z', // New York spring
  '2026-11-01T06:00:00Z', // New York fall
  '2026-03-29T01:00:00Z', // London, Paris spring
  '2026-10-25T01:00:00Z', // London, Paris fall
  '2026-04-04T15:00:00Z', // Lord Howe back 30 min
  '2026-10-03T15:30:00Z', // Lord Howe forward 30 min
  '2026-04-05T03:00:00Z', // Santiago back
  '2026-09-06T04:00:00Z', // Santiago forward
  '2027-03-14T07:00:00Z', // New York spring 2027
  '2011-12-30T10:00:00Z', // Apia skips 30 December 2011
  '2011-09-24T14:00:00Z', // Apia's first daylight saving
].map((s) => Date.parse(s));

const cronFields = fc.record({
  sec: fc.constantFrom('0', '0', '30', '*/20', '15,45'),
  min: fc.constantFrom('0', '30', '*/15', '5,35', '0-10/5', '*'),
  hour: fc.constantFrom('*', '*', '0', '1', '2', '3', '*/2', '1-3', '0-23', '0-22', '22,23', '9-17'),
  dom: fc.constantFrom('*', '*', '1', '15', '31', '1-7', '*/2', 'L', '1,L', '13', '29', 'L-2', '15W', 'LW'),
  month: fc.constantFrom('*', '*', '3', '10,11', '*/2', 'MAR-NOV', 'FEB', '4,6,9,11'),
  dow: fc.constantFrom('*', '*', '0', '1-5', 'SUN-SUN', 'MON-SUN', '5L', 'SUN#2', '6', '*/2', '7', 'SAT-SUN', '1,3'),
});
const cron = fc.tuple(cronFields, fc.boolean()).map(([f, seconds]) => {
  const dow = /[WL]-?|^L/.test(f.dom) && f.dom !== '1,L' && f.dom !== 'L' ? '*' : f.dow;
  return `${seconds ? `${f.sec} ` : ''}${f.min} ${f.hour} ${f.dom} ${f.month} ${dow}`;
});
const quartz = fc
  .record({
    sec: fc.constantFrom('0', '30', '0/20', '50-10/10'),
    min: fc.constantFrom('0', '30', '0/15', '45-15/15', '*'),
    hour: fc.constantFrom('*', '*', '0', '1', '2', '0/2', '22-2', '9-17'),
    dom: fc.constantFrom('L', 'LW', 'L-2', '15W', '1W', '31W', '13', '*/2', '25-5', '*'),
    month: fc.constantFrom('*', 'MAR-NOV', 'NOV-FEB', '2', '4,6,9,11'),
    dow: fc.constantFrom('2#1', '6L', '2-6', '1,7', 'L', 'FRI-MON', '3-2', '1-1', 'SUN-SUN', '*/2', '*'),
    dayByWeek: fc.boolean(),
    year: fc.boolean(),
  })
  .map((f) => `${f.sec} ${f.min} ${f.hour} ${f.dayByWeek ? '?' : f.dom} ${f.month} ${f.dayByWeek ? f.dow : '?'}${f.year ? ' *' : ''}`);

const start = fc.oneof(
  {
    arbitrary: fc.tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -40 * HOUR, max: 12 * HOUR })).map(([t, d]) => t + d),
    weight: 3,
  },
  { arbitrary: fc.integer({ min: Date.parse('2011-01-01T00:00:00Z'), max: Date.parse('2035-12-31T00:00:00Z') }), weight: 1 },
);

function compare(expr: string, zone: string, after: number): void {
  const r = parseCron(expr, zone);
  if (!r.ok) {
    // Only expressions that never fire are refused by this grammar.
    expect(r.message, expr).toMatch(/never fires/);
    expect(referenceFireTimes(expr, zone, after, after + HORIZON, 1), expr).toEqual([]);
    return;
  }
  const until = after + HORIZON;
  const got = nextFireTimes(r.cron, new Date(after), N, { until: new Date(until) }).map((d) => d.toISOString());
  const want = referenceFireTimes(expr, zone, after, until, N).map((t) => new Date(t).toISOString());
  expect(got, `${expr} in ${zone} after ${new Date(after).toISOString()}`).toEqual(want);
}

describe('engine = brute-force reference', () => {
  it('random expressions × zones × starts near transitions', () => {
    fc.assert(
      fc.property(fc.oneof(cron, quartz), fc.constantFrom(...ZONES), start, (expr, zone, after) => compare(expr, zone, after)),
      { numRuns: numRuns(RUNS) },
    );
  });

  it.each([
    ['0 12 * * SUN-SUN', 'UTC', '2026-01-01T00:00:00Z'],
    ['0 0 */2 * 1', 'Europe/Paris', '2026-01-01T00:00:00Z'],
    ['0 0-22 * * *', 'Europe/London', '2026-10-24T12:00:00Z'],
    ['0 */2 * * *', 'America/New_York', '2026-03-07T12:00:00Z'],
    ['30 * * * *', 'America/New_York', '2026-03-08T05:00:00Z'],
    ['30 0-23 * * *', 'Europe/London', '2026-03-29T00:00:00Z'],
    ['20,40 * * * *', 'Pacific/Apia', '2011-12-30T08:00:00Z'],
    ['30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z'],
    ['*/15 1-3 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z'],
    ['*/15 1-3 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z'],
    ['0 12 * * *', 'Pacific/Apia', '2011-12-28T00:00:00Z'],
    ['0 * * * *', 'Pacific/Apia', '2011-12-29T18:00:00Z'],
    ['0 0 0 ? * FRI-MON', 'America/Santiago', '2026-04-01T00:00:00Z'],
    ['30 0 * * *', 'America/Santiago', '2026-09-04T00:00:00Z'],
  ])('%s in %s from %s', (expr, zone, from) => compare(expr, zone, Date.parse(from)));
});
