import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { scheduleRunId, schedulerTick } from '../../functions/orchestrator/scheduler.js';
import { fireDue } from '../../functions/orchestrator/sweeper.js';
import { scheduleKeys } from '../../functions/store/schedules.js';
import type { Harness } from '../support/harness.js';
import { Clock, clockHarness, fireTimesOf, ok, putWorkflow, runsOf } from './support.js';

const clock = new Clock(Date.parse('2025-01-01T00:00:00Z'));
const timers: { pk: string; sk: string; at: number }[] = [];
let h: Harness;
let deps: Deps;
let n = 0;

/** A fresh workflow per test, so run listings do not mix. */
async function workflow(extra: Record<string, unknown> = {}) {
  const name = `wf${++n}`;
  await putWorkflow(h, { name, tasks: { t: { type: 'noop' } }, ...extra });
  return name;
}

async function schedule(wf: string, body: Record<string, unknown>, id = 's') {
  return ok(h, 'PUT', `/workflows/${wf}/schedules/${id}`, body, 201);
}

const tick = () => schedulerTick(deps);

/** Moves the clock to the schedule's next fire time (+1 s, as a timer would) and ticks, `times` times. */
async function hop(wf: string, times: number, id = 's') {
  for (let i = 0; i < times; i++) {
    const s = await ok(h, 'GET', `/workflows/${wf}/schedules/${id}`);
    expect(s.nextFireTime, 'schedule has a next fire time').toBeTypeOf('string');
    clock.set(Date.parse(s.nextFireTime) + 1000);
    await tick();
  }
}

beforeAll(async () => {
  h = await clockHarness(clock, { deps: { timer: async (key, at) => void timers.push({ ...key, at }) } });
  deps = h.runtime.deps;
});
afterAll(() => h.stop());

describe('daylight saving time', () => {
  it('Europe/Paris spring forward: the skipped 02:30 fires once at 03:00 CEST', async () => {
    clock.set('2025-03-28T12:00:00Z');
    const wf = await workflow();
    await schedule(wf, { cron: '30 2 * * *', timezone: 'Europe/Paris' });
    const next = await ok(h, 'GET', `/workflows/${wf}/schedules/s/next?count=3`);
    expect(next.fireTimes).toEqual([
      { utc: '2025-03-29T01:30:00.000Z', local: '2025-03-29T02:30:00+01:00' },
      { utc: '2025-03-30T01:00:00.000Z', local: '2025-03-30T03:00:00+02:00' },
      { utc: '2025-03-31T00:30:00.000Z', local: '2025-03-31T02:30:00+02:00' },
    ]);
    await hop(wf, 4);
    expect(fireTimesOf(await runsOf(h, wf))).toEqual([
      '2025-03-29T01:30:00.000Z',
      '2025-03-30T01:00:00.000Z',
      '2025-03-31T00:30:00.000Z',
      '2025-04-01T00:30:00.000Z',
    ]);
  });

  it('Europe/Paris spring forward, ticking every minute through the gap: one run, no duplicate', async () => {
    clock.set('2025-03-29T23:00:00Z');
    const wf = await workflow();
    await schedule(wf, { cron: '30 2 * * *', timezone: 'Europe/Paris' });
    for (let t = Date.parse('2025-03-30T00:00:10Z'); t <= Date.parse('2025-03-30T02:00:10Z'); t += 60_000) {
      clock.set(t);
      await tick();
    }
    const runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual(['2025-03-30T01:00:00.000Z']);
    expect(runs[0].trigger.misfired).toBeUndefined();
  });

  it('Europe/Paris fall back: daily 02:30 fires once; hourly fires every real hour', async () => {
    clock.set('2025-10-25T12:00:00Z');
    const daily = await workflow();
    await schedule(daily, { cron: '30 2 * * *', timezone: 'Europe/Paris' });
    await hop(daily, 3);
    expect(fireTimesOf(await runsOf(h, daily))).toEqual([
      '2025-10-26T00:30:00.000Z',
      '2025-10-27T01:30:00.000Z',
      '2025-10-28T01:30:00.000Z',
    ]);

    clock.set('2025-10-25T22:30:00Z');
    const hourly = await workflow();
    await schedule(hourly, { cron: '0 * * * *', timezone: 'Europe/Paris' });
    await hop(hourly, 4);
    const runs = await runsOf(h, hourly);
    expect(fireTimesOf(runs)).toEqual([
      '2025-10-25T23:00:00.000Z',
      '2025-10-26T00:00:00.000Z',
      '2025-10-26T01:00:00.000Z',
      '2025-10-26T02:00:00.000Z',
    ]);
  });

  it('America/New_York spring forward and fall back', async () => {
    clock.set('2025-03-07T12:00:00Z');
    const spring = await workflow();
    await schedule(spring, { cron: '30 2 * * *', timezone: 'America/New_York' });
    await hop(spring, 3);
    expect(fireTimesOf(await runsOf(h, spring))).toEqual([
      '2025-03-08T07:30:00.000Z',
      '2025-03-09T07:00:00.000Z',
      '2025-03-10T06:30:00.000Z',
    ]);

    clock.set('2025-10-31T12:00:00Z');
    const fall = await workflow();
    await schedule(fall, { cron: '30 1 * * *', timezone: 'America/New_York' });
    await hop(fall, 3);
    // 01:30 happens twice on 2025-11-02; it runs once, at the first (EDT) one.
    expect(fireTimesOf(await runsOf(h, fall))).toEqual([
      '2025-11-01T05:30:00.000Z',
      '2025-11-02T05:30:00.000Z',
      '2025-11-03T06:30:00.000Z',
    ]);
  });

  it('America/New_York fall back, ticking every 5 minutes: hourly fires at both 01:00s', async () => {
    clock.set('2025-11-02T03:30:00Z');
    const wf = await workflow();
    await schedule(wf, { cron: '0 * * * *', timezone: 'America/New_York' });
    for (let t = Date.parse('2025-11-02T03:35:00Z'); t <= Date.parse('2025-11-02T07:30:00Z'); t += 300_000) {
      clock.set(t);
      await tick();
    }
    const runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual([
      '2025-11-02T04:00:00.000Z',
      '2025-11-02T05:00:00.000Z',
      '2025-11-02T06:00:00.000Z',
      '2025-11-02T07:00:00.000Z',
    ]);
    expect(runs.every((r) => r.trigger.misfired === undefined)).toBe(true);
  });
});

describe('misfire policies', () => {
  /** Hourly UTC schedule created at 00:00:30; the system is "down" until 05:00:30. */
  async function outage(policy: string, extra: Record<string, unknown> = {}) {
    clock.set('2025-02-01T00:00:30Z');
    const wf = await workflow();
    await schedule(wf, { cron: '0 * * * *', misfirePolicy: policy, ...extra });
    clock.set('2025-02-01T05:00:30Z');
    await tick();
    return wf;
  }

  it('skip: only the latest missed time runs', async () => {
    const wf = await outage('skip');
    const runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual(['2025-02-01T05:00:00.000Z']);
    expect(runs[0].trigger).toMatchObject({ type: 'schedule', scheduleId: 's', misfired: true });
  });

  it('once: one run for the missed period, counting what it stands for', async () => {
    const wf = await outage('once');
    const runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual(['2025-02-01T05:00:00.000Z']);
    expect(runs[0].trigger).toMatchObject({ misfired: true, misfiredCount: 5 });
  });

  it('all: every missed time, oldest first, then on-time runs are not flagged', async () => {
    const wf = await outage('all');
    let runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual(['01', '02', '03', '04', '05'].map((hh) => `2025-02-01T${hh}:00:00.000Z`));
    expect(runs.filter((r) => r.trigger.misfired).length).toBeGreaterThanOrEqual(4);
    await hop(wf, 1);
    runs = await runsOf(h, wf);
    expect(runs).toHaveLength(6);
    expect(runs.find((r) => r.trigger.fireTime === '2025-02-01T06:00:00.000Z').trigger.misfired).toBeUndefined();
  });

  it('all is capped: only the latest misfireCap missed times run', async () => {
    const wf = await outage('all', { cron: '*/5 * * * *', misfireCap: 4 });
    const runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual(['04:45', '04:50', '04:55', '05:00'].map((t) => `2025-02-01T${t}:00.000Z`));
  });
});

describe('pause and resume', () => {
  it('fires nothing while paused; on resume the paused period goes through the misfire policy', async () => {
    clock.set('2025-04-01T00:00:30Z');
    const wf = await workflow();
    await schedule(wf, { cron: '0 * * * *', misfirePolicy: 'once' });
    await hop(wf, 1); // 01:00
    const paused = await ok(h, 'POST', `/workflows/${wf}/schedules/s/pause`);
    expect(paused).toMatchObject({ enabled: false });
    expect(paused.nextFireTime).toBeUndefined();
    expect((await ok(h, 'POST', `/workflows/${wf}/schedules/s/pause`)).enabled).toBe(false); // idempotent
    clock.set('2025-04-01T04:30:00Z');
    await tick();
    expect(await runsOf(h, wf)).toHaveLength(1);
    const resumed = await ok(h, 'POST', `/workflows/${wf}/schedules/s/resume`);
    expect(resumed).toMatchObject({ enabled: true, nextFireTime: '2025-04-01T02:00:00.000Z' });
    await tick();
    await hop(wf, 1); // 05:00, on time
    const runs = await runsOf(h, wf);
    expect(fireTimesOf(runs)).toEqual(['2025-04-01T01:00:00.000Z', '2025-04-01T04:00:00.000Z', '2025-04-01T05:00:00.000Z']);
    expect(runs[1].trigger).toMatchObject({ misfired: true, misfiredCount: 3 });
    expect(runs[2].trigger.misfired).toBeUndefined();
  });

  it('a disabled schedule created with enabled=false starts on resume', async () => {
    clock.set('2025-04-02T00:00:30Z');
    const wf = await workflow();
    await schedule(wf, { cron: '0 * * * *', enabled: false });
    // Replacing it without `enabled` keeps it paused.
    expect((await ok(h, 'PUT', `/workflows/${wf}/schedules/s`, { cron: '0 * * * *', misfirePolicy: 'skip' }, 200)).enabled).toBe(false);
    clock.set('2025-04-02T03:00:30Z');
    await tick();
    expect(await runsOf(h, wf)).toHaveLength(0);
    await ok(h, 'POST', `/workflows/${wf}/schedules/s/resume`);
    await tick();
    expect(fireTimesOf(await runsOf(h, wf))).toEqual(['2025-04-02T03:00:00.000Z']);
  });
});

describe('exactly once', () => {
  it('duplicate and concurrent ticks create one run per fire time', async () => {
    clock.set('2025-05-01T00:00:05Z');
    const wf = await workflow();
    await schedule(wf, { cron: '*/10 * * * * *', misfirePolicy: 'all' });
    clock.set('2025-05-01T00:01:05Z');
    const reports = await Promise.all([tick(), tick(), tick(), tick()]);
    await tick();
    const key = scheduleKeys.schedule(wf, 's');
    await Promise.all([fireDue(deps, key), fireDue(deps, key)]);
    const runs = await runsOf(h, wf);
    expect(runs).toHaveLength(6);
    expect(new Set(fireTimesOf(runs)).size).toBe(6);
    expect(reports.reduce((a, r) => a + r.created, 0)).toBeGreaterThanOrEqual(6); // other tests' schedules are due too
    for (const r of runs) expect(r.runId).toBe(scheduleRunId(wf, 's', new Date(r.trigger.fireTime)));
    const s = await ok(h, 'GET', `/workflows/${wf}/schedules/s`);
    expect(s).toMatchObject({ handledUntil: '2025-05-01T00:01:05.000Z', nextFireTime: '2025-05-01T00:01:10.000Z' });
    expect(s.lastFire).toMatchObject({ fireTime: '2025-05-01T00:01:00.000Z' });
  });

  it('hands fire times of the coming minute to the durable timer, which fires them through the sweeper', async () => {
    clock.set('2025-05-02T00:00:05Z');
    const wf = await workflow();
    await schedule(wf, { cron: '20,40 * * * * *' });
    const key = scheduleKeys.schedule(wf, 's');
    timers.length = 0;
    const r = await tick();
    expect(r.timers).toBeGreaterThanOrEqual(1);
    expect(timers).toContainEqual({ ...key, at: Date.parse('2025-05-02T00:00:20Z') });
    clock.set('2025-05-02T00:00:20Z');
    timers.length = 0;
    await fireDue(deps, key); // what the timer does when it goes off
    expect(fireTimesOf(await runsOf(h, wf))).toEqual(['2025-05-02T00:00:20.000Z']);
    expect(timers).toContainEqual({ ...key, at: Date.parse('2025-05-02T00:00:40Z') }); // chained
  });
});

describe('run params and triggers', () => {
  it('renders ${schedule.*} into the run params and records the trigger', async () => {
    clock.set('2025-06-30T12:00:30Z');
    const wf = await workflow({
      params: {
        day: { type: 'string', required: true },
        at: { type: 'string' },
        compact: { type: 'string' },
        epoch: { type: 'integer' },
        literal: { type: 'string' },
      },
    });
    await schedule(wf, {
      cron: '0 0 * * *',
      timezone: 'Asia/Tokyo',
      params: {
        day: '${schedule.date}',
        at: '${schedule.time}',
        compact: 'x-${schedule.time:yyyyMMdd-HHmm}',
        epoch: '${schedule.epoch}',
        literal: '$${not.a.template}',
      },
    });
    await hop(wf, 1);
    const [run] = await runsOf(h, wf);
    const full = await ok(h, 'GET', `/runs/${run.runId}`);
    expect(full.params).toEqual({
      day: '2025-07-01',
      at: '2025-06-30T15:00:00.000Z',
      compact: 'x-20250701-0000',
      epoch: Date.parse('2025-06-30T15:00:00Z') / 1000,
      literal: '${not.a.template}',
    });
    expect(full.trigger).toEqual({ type: 'schedule', scheduleId: 's', fireTime: '2025-06-30T15:00:00.000Z' });
  });

  it('a window bounds the fire times', async () => {
    clock.set('2025-07-01T00:00:30Z');
    const wf = await workflow();
    await schedule(wf, { cron: '0 * * * *', start: '2025-07-01T02:00:00Z', end: '2025-07-01T03:00:00Z' });
    const s = await ok(h, 'GET', `/workflows/${wf}/schedules/s`);
    expect(s.nextFireTime).toBe('2025-07-01T02:00:00.000Z');
    await hop(wf, 2);
    expect(fireTimesOf(await runsOf(h, wf))).toEqual(['2025-07-01T02:00:00.000Z', '2025-07-01T03:00:00.000Z']);
    expect((await ok(h, 'GET', `/workflows/${wf}/schedules/s`)).nextFireTime).toBeUndefined();
  });
});
