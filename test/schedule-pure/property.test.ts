import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deterministicRunId, nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { numRuns } from '../support/fc-runs.js';

const zones = ['UTC', 'America/New_York', 'Europe/Paris', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago'];

const standard = fc
  .tuple(
    fc.constantFrom('0', '15', '*/20', '0,30'),
    fc.constantFrom('*', '0', '*/7', '5,35', '0-10/5', '30'),
    fc.constantFrom('*', '0', '1', '2', '*/3', '1-3', '0,12', '23'),
    fc.constantFrom('*', 'L', '15', '1-7', '31'),
    fc.constantFrom('*', '3', '10,11', '*/2', '4-10'),
    fc.constantFrom('*', '0', '1-5', '5#L', 'SUN#2', '6'),
  )
  .map((f) => f.join(' '));
const quartz = fc
  .tuple(
    fc.constantFrom('0', '30'),
    fc.constantFrom('0', '0/15', '30'),
    fc.constantFrom('*', '2', '1', '9'),
    fc.constantFrom('15W', 'LW', 'L', 'L-2', '1W', '*'),
    fc.constantFrom('*', 'MAR-NOV'),
  )
  .map(([s, m, h, dom, mon]) => `${s} ${m} ${h} ${dom} ${mon} ?`);
const quartzDow = fc
  .tuple(fc.constantFrom('0 0 9', '0 30 1', '0 0/30 *'), fc.constantFrom('2#1', '6L', '2-6', '1,7', 'L'))
  .map(([t, dow]) => `${t} ? * ${dow}`);
const expr = fc.oneof(standard, quartz, quartzDow);
const after = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-12-31T00:00:00Z'), noInvalidDate: true });

describe('properties', () => {
  it('nextFireTimes: strictly increasing, each > after, whole seconds, and resumable', () => {
    fc.assert(
      fc.property(expr, fc.constantFrom(...zones), after, fc.integer({ min: 1, max: 30 }), (e, zone, from, n) => {
        const r = parseCron(e, zone);
        expect(r.ok, e).toBe(true);
        if (!r.ok) return;
        const times = nextFireTimes(r.cron, from, n);
        expect(times.length).toBe(n);
        let prev = from.getTime();
        for (const t of times) {
          expect(t.getTime()).toBeGreaterThan(prev);
          expect(t.getTime() % 1000).toBe(0);
          prev = t.getTime();
        }
        // Continuing from any returned time yields exactly the rest of the sequence.
        const k = Math.floor(n / 2);
        const rest = nextFireTimes(r.cron, times[k] as Date, n - k - 1);
        expect(rest.map(Number)).toEqual(times.slice(k + 1).map(Number));
      }),
      { numRuns: numRuns(300) },
    );
  });

  it('deterministicRunId: equal inputs equal ids, different inputs different ids', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 4e12 }), (k1, k2, t1, t2) => {
        const a = deterministicRunId(k1, new Date(t1));
        expect(deterministicRunId(k1, new Date(t1))).toBe(a);
        expect(a).toMatch(/^s_[0-9a-f]{24}$/);
        if (k1 !== k2 || t1 !== t2) expect(deterministicRunId(k2, new Date(t2))).not.toBe(a);
      }),
      { numRuns: numRuns(500) },
    );
  });
});
