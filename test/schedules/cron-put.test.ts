/**
 * PUT of a schedule with any cron string answers 2xx or 4xx, never 5xx; the refusals of issue 17
 * (never fires, both Quartz day fields) are 400s naming the field with the reason.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { Clock, clockHarness, putWorkflow } from './support.js';

/** Generated strings per run (BATON_CRON_PUT_RUNS, default 40); accepted ones cost DynamoDB writes. */
const RUNS = Number(process.env.BATON_CRON_PUT_RUNS ?? 40);
const clock = new Clock(Date.parse('2026-01-01T12:00:00Z'));
let h: Harness;

beforeAll(async () => {
  h = await clockHarness(clock);
  await putWorkflow(h, { name: 'cronput', tasks: { t: { type: 'noop' } } });
});
afterAll(() => h.stop());

describe('PUT schedule with awkward cron strings', () => {
  it.each([
    ['0 0 31 4,6,9,11 *', /never fires/],
    ['0 0 31 4,6,9 *', /never fires/],
    ['0 0 0 31 4,6,9,11 ?', /never fires/],
    ['0 0 0 13 * 6 *', /put '\?' in the other/],
  ])('%s -> 400 with the reason', async (cron, reason) => {
    const r = await h.request('PUT', '/workflows/cronput/schedules/s', { cron });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain('cron');
    expect(r.body.error.message).toMatch(reason);
  });

  it('a Sunday-only range is stored and lists Sundays only', async () => {
    const r = await h.request('PUT', '/workflows/cronput/schedules/sun', { cron: '0 0 12 ? * SUN-SUN' });
    expect(r.status).toBe(201);
    const next = await h.request('GET', '/workflows/cronput/schedules/sun/next?count=5');
    expect(next.body.fireTimes.map((f: { utc: string }) => new Date(f.utc).getUTCDay())).toEqual([0, 0, 0, 0, 0]);
  });

  it('generated cron strings never get a 5xx', async () => {
    const token = fc.constantFrom(...'0 1 7 12 31 59 * ? / - , L W # LW L-2 15W 5L 2#5 SUN MON FRI JAN NOV'.split(' '));
    const mixed = fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join(''));
    const pick = (...values: string[]) => fc.oneof({ arbitrary: fc.constantFrom(...values), weight: 5 }, { arbitrary: mixed, weight: 1 });
    const sec = pick('0', '*/15', '0-30/10', '5,35', '*', '50-10');
    const hour = pick('*', '0-23', '2', '22-2', '*/3', '1');
    const dom = pick('*', '?', 'L', 'LW', '15W', '31', '30', 'L-3', '1-7', '*/2', '13');
    const month = pick('*', '2', '4,6,9,11', 'NOV-FEB', 'JAN-MAR', '4,6');
    const dow = pick('*', '?', 'SUN-SUN', 'FRI-MON', '5L', '2#5', '1-5', 'MON', '*/2');
    const cron = fc
      .tuple(sec, sec, hour, dom, month, dow, fc.constantFrom(5, 6, 7))
      .map(([s, m, h, d, mo, w, n]) => [...(n > 5 ? [s] : []), m, h, d, mo, w, ...(n === 7 ? ['*'] : [])].join(' '));
    const zone = fc.constantFrom('UTC', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Apia');
    let i = 0;
    await fc.assert(
      fc.asyncProperty(cron, zone, async (c, timezone) => {
        const r = await h.request('PUT', `/workflows/cronput/schedules/g${i++ % 5}`, { cron: c, timezone });
        expect(r.status, `${c}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
        if (r.status >= 400) expect(r.body.error.message.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });
});
