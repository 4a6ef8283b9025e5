/**
 * Named cases for the cron rules settled in issue 17: Sunday-only ranges, never-firing expressions
 * refused without deep recursion, Vixie/cronie `*`-led day fields, Quartz wrap-around ranges and the
 * Quartz `?` requirement, and specs stored by earlier versions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CronSpec, countFireTimes, nextFireTimes, parseCron } from '../../functions/engine/schedule/index.js';
import { numRuns } from '../support/fc-runs.js';
import { at, iso, spec } from './helpers.js';

const JAN1 = at('2026-01-01T00:00:00Z'); // a Thursday
const DAYS_400 = at('2027-02-05T00:00:00Z');
const weekdays = (c: CronSpec, n: number) => new Set(nextFireTimes(c, JAN1, n).map((t) => t.getUTCDay()));

describe('a range from Sunday to Sunday is Sunday only', () => {
  it.each(['0 12 * * SUN-SUN', '0 12 * * 0-0', '0 0 12 ? * 1-1', '0 0 12 ? * SUN-SUN', '0 0 12 ? * SUN-SUN *'])('%s', (expr) => {
    expect(weekdays(spec(expr), 20)).toEqual(new Set([0]));
    expect(iso(nextFireTimes(spec(expr), JAN1, 1))).toEqual(['2026-01-04T12:00:00.000Z']);
  });

  it('cron MON-SUN, SAT-SUN, 5-7 and 0-7 still reach Sunday', () => {
    expect(weekdays(spec('0 12 * * MON-SUN'), 14).size).toBe(7);
    expect(weekdays(spec('0 12 * * SAT-SUN'), 6)).toEqual(new Set([6, 0]));
    expect(weekdays(spec('0 12 * * 5-7'), 9)).toEqual(new Set([5, 6, 0]));
    expect(weekdays(spec('0 12 * * 0-7'), 14).size).toBe(7);
  });
});

describe('never-firing expressions are refused, not crashed on', () => {
  it.each(['0 0 31 4,6,9,11 *', '0 0 31 4,6,9 *', '0 0 0 31 4,6,9,11 ?', '0 0 30 2 *', '0 0 0 30W 2 ?', '0 0 0 L-29 2 ?', '0 0 31 2 */2'])(
    '%s',
    (expr) => {
      const r = parseCron(expr, 'Europe/Paris');
      expect(r).toMatchObject({ ok: false, field: 'cron' });
      if (!r.ok) expect(r.message).toMatch(/never fires/);
    },
  );

  it('rare but real days are accepted and found (5th Monday of February: Feb 29 on a Monday)', () => {
    expect(iso(nextFireTimes(spec('0 0 0 ? 2 2#5'), JAN1, 2))).toEqual(['2044-02-29T00:00:00.000Z', '2072-02-29T00:00:00.000Z']);
    expect(iso(nextFireTimes(spec('0 0 31 4,6,9,12 *'), JAN1, 1))).toEqual(['2026-12-31T00:00:00.000Z']);
  });

  it('parseCron never throws, and an accepted expression has a next fire time', () => {
    const token = fc.constantFrom(...'0 1 2 5 7 9 12 23 31 59 60 * ? / - , L W # LW L-3 15W 5L 2#5 SUN MON FRI JAN FEB NOV'.split(' '));
    const field = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join(''));
    const expr = fc.oneof(
      fc.array(field, { minLength: 4, maxLength: 8 }).map((f) => f.join(' ')),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(expr, (e) => {
        const r = parseCron(e, 'UTC');
        if (r.ok) expect(nextFireTimes(r.cron, JAN1, 1)).toHaveLength(1);
        else expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: numRuns(1000) },
    );
  });
});

describe('5-field day fields follow Vixie cron and cronie', () => {
  it('0 0 */2 * 1 = odd-dated Mondays (29 in 400 days), not odd dates or Mondays', () => {
    const c = spec('0 0 */2 * 1');
    for (const t of nextFireTimes(c, JAN1, 29)) {
      expect(t.getUTCDay()).toBe(1);
      expect(t.getUTCDate() % 2).toBe(1);
    }
    expect(countFireTimes(c, JAN1, DAYS_400, 1000)).toEqual({ count: 29, exact: true });
  });

  it('a field not starting with * keeps the OR: 1-31/2 with Monday = odd dates or Mondays', () => {
    const days = nextFireTimes(spec('0 0 1-31/2 * 1'), JAN1, 40);
    expect(days.some((t) => t.getUTCDay() !== 1)).toBe(true);
    expect(days.some((t) => t.getUTCDate() % 2 === 0)).toBe(true);
  });

  it('a *-led weekday field also means AND: 13 with */2 = the 13th when it is SUN, TUE, THU or SAT', () => {
    for (const t of nextFireTimes(spec('0 0 13 * */2'), JAN1, 6)) {
      expect(t.getUTCDate()).toBe(13);
      expect([0, 2, 4, 6]).toContain(t.getUTCDay());
    }
  });
});

describe('Quartz day-of-week details', () => {
  it('wrap-around ranges, as Quartz reads them: FRI-MON and 6-2 = FRI SAT SUN MON; 3-2 = every day', () => {
    expect(weekdays(spec('0 0 12 ? * FRI-MON'), 12)).toEqual(new Set([5, 6, 0, 1]));
    expect(weekdays(spec('0 0 12 ? * 6-2'), 12)).toEqual(new Set([5, 6, 0, 1]));
    expect(weekdays(spec('0 0 12 ? * 3-2'), 14).size).toBe(7);
  });

  it('cron refuses wrap-around ranges', () => {
    const r = parseCron('0 12 * * FRI-MON', 'UTC');
    expect(r).toMatchObject({ ok: false, field: 'cron' });
    if (!r.ok) expect(r.message).toMatch(/from value is larger than to value/);
  });

  it('7 fields with both day fields set are refused, telling to use ?', () => {
    for (const expr of ['0 0 0 13 * 6 *', '0 0 0 * * * *', '0 0 0 13 * * *']) {
      const r = parseCron(expr, 'UTC');
      expect(r).toMatchObject({ ok: false, field: 'cron' });
      if (!r.ok) expect(r.message).toMatch(/'\?'/);
    }
    expect(iso(nextFireTimes(spec('0 0 0 13 * ? *'), JAN1, 1))).toEqual(['2026-01-13T00:00:00.000Z']);
  });
});

describe('specs stored by earlier versions are evaluated from their expression', () => {
  it('a stored SUN-SUN spec with the old pattern fires on Sundays', () => {
    const old = { expression: '0 12 * * SUN-SUN', timezone: 'UTC', dialect: 'standard', pattern: '0 0 12 * * 0-7', everyHour: false };
    expect(weekdays(old as CronSpec, 10)).toEqual(new Set([0]));
  });

  it('a stored 7-field spec with both day fields keeps firing on either (as it did), never throws', () => {
    const old = { expression: '0 0 0 13 * 6 *', timezone: 'UTC', dialect: 'quartz', pattern: '0 0 0 13 * 5', everyHour: false } as CronSpec;
    expect(iso(nextFireTimes(old, JAN1, 3))).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-09T00:00:00.000Z', '2026-01-13T00:00:00.000Z']);
    const broken = { ...old, expression: '0 0 31 4,6 *' };
    expect(nextFireTimes(broken, JAN1, 3)).toEqual([]);
  });
});
