import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { Clock, clockHarness, ok, putWorkflow, runsOf } from './support.js';

const clock = new Clock(Date.parse('2025-03-28T12:00:00Z'));
let h: Harness;

beforeAll(async () => {
  h = await clockHarness(clock);
  await putWorkflow(h, { name: 'nightly', params: { day: { type: 'string' } }, tasks: { t: { type: 'noop' } } });
});
afterAll(() => h.stop());

describe('schedule API', () => {
  it.each([
    [{ cron: '61 * * * *' }, 'cron'],
    [{ cron: '0 2 * * * * * *' }, 'cron'],
    [{ cron: '0 0 12 ? * MON-FRI ?' }, 'cron'],
    [{}, 'cron'],
    [{ cron: '0 2 * * *', timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    [{ cron: '0 2 * * *', timezone: 7 }, 'timezone'],
    [{ cron: '0 2 * * *', misfirePolicy: 'sometimes' }, 'misfirePolicy'],
    [{ cron: '0 2 * * *', start: 'yesterday' }, 'start'],
    [{ cron: '0 2 * * *', start: '2025-05-01T00:00:00Z', end: '2025-04-01T00:00:00Z' }, 'end'],
    [{ cron: '0 2 * * *', params: { day: '${schedule.weekday}' } }, 'params.day'],
    [{ cron: '0 2 * * *', params: { nope: 'x' } }, 'params.nope'],
    [{ cron: '0 2 * * *', colour: 'blue' }, 'colour'],
  ])('400 naming the field for %j', async (body, field) => {
    const r = await h.request('PUT', '/workflows/nightly/schedules/bad', body);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.details.map((d: any) => d.path)).toContain(field);
    expect(r.body.error.message).toContain(field.split('.')[0]);
  });

  it('404 for an unknown workflow; 400 for a bad id', async () => {
    expect((await h.request('PUT', '/workflows/ghost/schedules/s', { cron: '0 2 * * *' })).status).toBe(404);
    expect((await h.request('PUT', '/workflows/nightly/schedules/has%20space', { cron: '0 2 * * *' })).status).toBe(400);
  });

  it('PUT creates then replaces; GET, list, DELETE', async () => {
    const created = await ok(h, 'PUT', '/workflows/nightly/schedules/paris', { cron: '0 2 * * *', timezone: 'Europe/Paris' }, 201);
    expect(created).toMatchObject({
      scheduleId: 'paris',
      cron: '0 2 * * *',
      timezone: 'Europe/Paris',
      dialect: 'standard',
      enabled: true,
      misfirePolicy: 'skip',
      nextFireTime: '2025-03-29T01:00:00.000Z',
    });
    const replaced = await ok(
      h,
      'PUT',
      '/workflows/nightly/schedules/paris',
      { cron: '0 0 12 ? * 2#1', timezone: 'europe/paris', misfirePolicy: 'all' },
      200,
    );
    expect(replaced).toMatchObject({
      dialect: 'quartz',
      timezone: 'Europe/Paris',
      misfirePolicy: 'all',
      nextFireTime: '2025-04-07T10:00:00.000Z',
    });
    const list = await ok(h, 'GET', '/workflows/nightly/schedules');
    expect(list.schedules.map((s: any) => s.scheduleId)).toContain('paris');
    expect((await h.request('DELETE', '/workflows/nightly/schedules/paris')).status).toBe(204);
    expect((await h.request('GET', '/workflows/nightly/schedules/paris')).status).toBe(404);
    expect((await h.request('DELETE', '/workflows/nightly/schedules/paris')).status).toBe(404);
  });

  it('GET next: fire times in the zone and in UTC', async () => {
    await ok(h, 'PUT', '/workflows/nightly/schedules/ny', { cron: '30 2 * * *', timezone: 'America/New_York' }, 201);
    clock.set('2025-03-07T12:00:00Z');
    const next = await ok(h, 'GET', '/workflows/nightly/schedules/ny/next?count=5');
    expect(next.timezone).toBe('America/New_York');
    expect(next.fireTimes).toEqual([
      { utc: '2025-03-08T07:30:00.000Z', local: '2025-03-08T02:30:00-05:00' },
      { utc: '2025-03-09T07:00:00.000Z', local: '2025-03-09T03:00:00-04:00' },
      { utc: '2025-03-10T06:30:00.000Z', local: '2025-03-10T02:30:00-04:00' },
      { utc: '2025-03-11T06:30:00.000Z', local: '2025-03-11T02:30:00-04:00' },
      { utc: '2025-03-12T06:30:00.000Z', local: '2025-03-12T02:30:00-04:00' },
    ]);
    expect((await h.request('GET', '/workflows/nightly/schedules/ny/next?count=0')).body.error.details[0].path).toBe('count');
    clock.set('2025-03-28T12:00:00Z');
  });
});

describe('triggers', () => {
  it('20 parallel identical starts with one Idempotency-Key make one run', async () => {
    await putWorkflow(h, { name: 'idem', params: { n: { type: 'integer' } }, tasks: { t: { type: 'noop' } } });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.request('POST', '/workflows/idem/runs', { params: { n: 1 } }, { 'Idempotency-Key': 'same-key' })),
    );
    expect(new Set(results.map((r) => r.body.runId)).size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    const runs = await runsOf(h, 'idem');
    expect(runs).toHaveLength(1);
    const run = await ok(h, 'GET', `/runs/${runs[0].runId}`);
    expect(run.trigger).toMatchObject({ type: 'api' });
    const other = await h.request('POST', '/workflows/idem/runs', { params: { n: 2 } }, { 'Idempotency-Key': 'same-key' });
    expect(other.status).toBe(409);
  });
});
