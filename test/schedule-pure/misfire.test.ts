import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MISFIRE_THRESHOLD_MS,
  type DueFireTimesInput,
  deterministicRunId,
  dueFireTimes,
} from '../../functions/engine/schedule/index.js';
import { at, iso, spec } from './helpers.js';

const hourly = spec('0 * * * *');
const base = (over: Partial<DueFireTimesInput>): DueFireTimesInput => ({
  cron: hourly,
  createdAt: at('2026-01-01T00:00:00Z'),
  now: at('2026-01-05T11:00:30Z'),
  policy: 'skip',
  enabled: true,
  ...over,
});
const times = (r: ReturnType<typeof dueFireTimes>) => iso(r.fireTimes.map((f) => f.time));

describe('dueFireTimes: normal operation', () => {
  it('fires the one due time and stores now as the mark', () => {
    const r = dueFireTimes(base({ lastFireTime: at('2026-01-05T10:00:00Z') }));
    expect(r.fireTimes).toEqual([{ time: at('2026-01-05T11:00:00Z') }]);
    expect(r.nextLast).toEqual(at('2026-01-05T11:00:30Z'));
    expect(r).toMatchObject({ misfire: false, truncated: false, dueCount: 1 });
  });

  it('nothing due -> no fire, mark advances to now (never backwards)', () => {
    const r = dueFireTimes(base({ lastFireTime: at('2026-01-05T11:00:00Z'), now: at('2026-01-05T11:30:00Z') }));
    expect(r.fireTimes).toEqual([]);
    expect(r.nextLast).toEqual(at('2026-01-05T11:30:00Z'));
    const skew = dueFireTimes(base({ lastFireTime: at('2026-01-05T11:40:00Z'), now: at('2026-01-05T11:30:00Z') }));
    expect(skew.nextLast).toEqual(at('2026-01-05T11:40:00Z'));
  });

  it('several on-time due times (seconds cron between ticks) all fire, under every policy', () => {
    for (const policy of ['skip', 'once', 'all'] as const) {
      const r = dueFireTimes(
        base({ cron: spec('0/15 * * * * *'), policy, lastFireTime: at('2026-01-05T11:00:00Z'), now: at('2026-01-05T11:01:00Z') }),
      );
      expect(times(r)).toEqual([
        '2026-01-05T11:00:15.000Z',
        '2026-01-05T11:00:30.000Z',
        '2026-01-05T11:00:45.000Z',
        '2026-01-05T11:01:00.000Z',
      ]);
      expect(r.misfire).toBe(false);
      expect(r.fireTimes.every((f) => f.misfired === undefined)).toBe(true);
    }
  });

  it('first evaluation uses createdAt (exclusive)', () => {
    expect(times(dueFireTimes(base({ createdAt: at('2026-01-05T10:30:00Z') })))).toEqual(['2026-01-05T11:00:00.000Z']);
    expect(times(dueFireTimes(base({ createdAt: at('2026-01-05T11:00:00Z') })))).toEqual([]);
  });

  it('disabled: nothing fires and the disabled period is marked handled', () => {
    const r = dueFireTimes(base({ enabled: false, lastFireTime: at('2026-01-05T06:00:00Z') }));
    expect(r.fireTimes).toEqual([]);
    expect(r.nextLast).toEqual(at('2026-01-05T11:00:30Z'));
  });
});

describe('dueFireTimes: misfire policies (missed 07:00..11:00)', () => {
  const missed = { lastFireTime: at('2026-01-05T06:00:00Z') };

  it('skip -> only the latest due time', () => {
    const r = dueFireTimes(base({ ...missed, policy: 'skip' }));
    expect(r.fireTimes).toEqual([{ time: at('2026-01-05T11:00:00Z'), misfired: true }]);
    expect(r).toMatchObject({ misfire: true, dueCount: 5, dueCountExact: true, truncated: false });
    expect(r.nextLast).toEqual(at('2026-01-05T11:00:30Z'));
  });

  it('once -> one run at the latest due time standing for all of them', () => {
    const r = dueFireTimes(base({ ...missed, policy: 'once' }));
    expect(r.fireTimes).toEqual([{ time: at('2026-01-05T11:00:00Z'), misfired: true, misfiredCount: 5 }]);
    expect(r.nextLast).toEqual(at('2026-01-05T11:00:30Z'));
  });

  it('all -> each due time oldest first, late ones flagged', () => {
    const r = dueFireTimes(base({ ...missed, policy: 'all' }));
    expect(r.fireTimes).toEqual([
      { time: at('2026-01-05T07:00:00Z'), misfired: true },
      { time: at('2026-01-05T08:00:00Z'), misfired: true },
      { time: at('2026-01-05T09:00:00Z'), misfired: true },
      { time: at('2026-01-05T10:00:00Z'), misfired: true },
      { time: at('2026-01-05T11:00:00Z') }, // 30 s old: on time
    ]);
    expect(r).toMatchObject({ misfire: true, truncated: false, dueCount: 5 });
  });

  it('a single late time fires under every policy (flagged)', () => {
    const daily = spec('0 9 * * *');
    const input = { cron: daily, lastFireTime: at('2026-01-04T09:00:00Z'), now: at('2026-01-05T09:10:00Z') };
    expect(dueFireTimes(base({ ...input, policy: 'skip' })).fireTimes).toEqual([{ time: at('2026-01-05T09:00:00Z'), misfired: true }]);
    expect(dueFireTimes(base({ ...input, policy: 'once' })).fireTimes).toEqual([
      { time: at('2026-01-05T09:00:00Z'), misfired: true, misfiredCount: 1 },
    ]);
    expect(dueFireTimes(base({ ...input, policy: 'all' })).fireTimes).toEqual([{ time: at('2026-01-05T09:00:00Z'), misfired: true }]);
  });

  it('lateness is relative to the threshold', () => {
    const late = { lastFireTime: at('2026-01-05T10:00:00Z'), now: at('2026-01-05T11:00:00Z') };
    const justInside = new Date(at('2026-01-05T11:00:00Z').getTime() + DEFAULT_MISFIRE_THRESHOLD_MS - 1);
    expect(dueFireTimes(base({ ...late, now: justInside })).misfire).toBe(false);
    expect(dueFireTimes(base({ ...late, now: new Date(justInside.getTime() + 1) })).misfire).toBe(true);
    expect(dueFireTimes(base({ ...late, misfireThresholdMs: 0 })).misfire).toBe(true);
  });

  it('once over a long outage: the count is capped by countLimit', () => {
    const r = dueFireTimes(base({ cron: spec('* * * * *'), policy: 'once', lastFireTime: at('2026-01-01T00:00:00Z'), countLimit: 1000 }));
    expect(r.fireTimes).toEqual([{ time: at('2026-01-05T11:00:00Z'), misfired: true, misfiredCount: 1000 }]);
    expect(r.dueCountExact).toBe(false);
    const exact = dueFireTimes(base({ policy: 'once', lastFireTime: at('2026-01-01T00:00:00Z') }));
    expect(exact.fireTimes[0]?.misfiredCount).toBe(4 * 24 + 11);
  });
});

describe('dueFireTimes: cap', () => {
  it('all: capped oldest-first, truncated, and the backlog drains over later calls', () => {
    let last = at('2026-01-01T00:00:00Z');
    const fired: string[] = [];
    const rounds: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const r = dueFireTimes(base({ policy: 'all', lastFireTime: last, cap: 40 }));
      fired.push(...times(r));
      rounds.push(r.truncated);
      last = r.nextLast;
      if (!r.truncated) break;
    }
    expect(rounds).toEqual([true, true, false]);
    expect(fired).toHaveLength(4 * 24 + 11);
    expect(new Set(fired).size).toBe(fired.length);
    expect(fired[0]).toBe('2026-01-01T01:00:00.000Z');
    expect(fired.at(-1)).toBe('2026-01-05T11:00:00.000Z');
    expect(last).toEqual(at('2026-01-05T11:00:30Z'));
  });

  it('default cap is 100', () => {
    const r = dueFireTimes(base({ policy: 'all', lastFireTime: at('2026-01-01T00:00:00Z') }));
    expect(r.fireTimes).toHaveLength(100);
    expect(r.truncated).toBe(true);
    expect(r.nextLast).toEqual(r.fireTimes[99]?.time);
  });
});

describe('dueFireTimes: window', () => {
  const missed = { lastFireTime: at('2026-01-05T06:00:00Z'), policy: 'all' as const };

  it('start (inclusive): earlier times never fire', () => {
    expect(times(dueFireTimes(base({ ...missed, window: { start: at('2026-01-05T09:00:00Z') } })))).toEqual([
      '2026-01-05T09:00:00.000Z',
      '2026-01-05T10:00:00.000Z',
      '2026-01-05T11:00:00.000Z',
    ]);
    const future = dueFireTimes(base({ ...missed, window: { start: at('2026-02-01T00:00:00Z') } }));
    expect(future.fireTimes).toEqual([]);
    expect(future.nextLast).toEqual(at('2026-01-05T11:00:30Z'));
  });

  it('end (inclusive): later times never fire, under every policy', () => {
    const window = { end: at('2026-01-05T08:00:00Z') };
    expect(times(dueFireTimes(base({ ...missed, window })))).toEqual(['2026-01-05T07:00:00.000Z', '2026-01-05T08:00:00.000Z']);
    expect(times(dueFireTimes(base({ ...missed, policy: 'skip', window })))).toEqual(['2026-01-05T08:00:00.000Z']);
    const r = dueFireTimes(base({ ...missed, policy: 'once', window }));
    expect(r.fireTimes).toEqual([{ time: at('2026-01-05T08:00:00Z'), misfired: true, misfiredCount: 2 }]);
    // Past the end: nothing, ever.
    const after = dueFireTimes(base({ lastFireTime: r.nextLast, now: at('2026-01-06T00:00:00Z'), window }));
    expect(after.fireTimes).toEqual([]);
  });

  it('start and end together', () => {
    const window = { start: at('2026-01-05T08:00:00Z'), end: at('2026-01-05T09:59:59Z') };
    expect(times(dueFireTimes(base({ ...missed, window })))).toEqual(['2026-01-05T08:00:00.000Z', '2026-01-05T09:00:00.000Z']);
  });
});

describe('deterministicRunId', () => {
  it('is stable, 26 chars, s_ + hex', () => {
    const a = deterministicRunId('SCHED#nightly', at('2026-01-05T11:00:00Z'));
    expect(a).toMatch(/^s_[0-9a-f]{24}$/);
    expect(a).toHaveLength(26);
    expect(deterministicRunId('SCHED#nightly', new Date(Date.parse('2026-01-05T11:00:00Z')))).toBe(a);
    // Pinned: changing the derivation would give existing fire times new run ids (duplicate runs).
    expect(a).toBe('s_db4aeb570e2ac0d1dd5e6427');
  });

  it('differs when the key or the time differs', () => {
    const t = at('2026-01-05T11:00:00Z');
    const ids = new Set([
      deterministicRunId('a', t),
      deterministicRunId('b', t),
      deterministicRunId('a', new Date(t.getTime() + 1000)),
      deterministicRunId('a1', new Date(0)),
      deterministicRunId('a', new Date(10)),
      deterministicRunId('', t),
    ]);
    expect(ids.size).toBe(6);
    expect(() => deterministicRunId('a', new Date(Number.NaN))).toThrow(RangeError);
  });
});
