import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleRunId } from '../../functions/orchestrator/scheduler.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import type { Harness } from '../support/harness.js';
import { engineHarness, fireTimesOf, ok, putWorkflow, runsOf, until } from './support.js';

/** Real clock (backfills run past fire times), the whole local runtime. */
let h: Harness;

const days = (from: string, n: number) => Array.from({ length: n }, (_, i) => new Date(Date.parse(from) + i * 86_400_000).toISOString());

async function finished(id: string, timeoutMs = 60_000) {
  let last: unknown;
  return until(
    `backfill ${id} to end`,
    async () => {
      const b = await ok(h, 'GET', `/backfills/${id}`);
      last = b;
      return b.status !== 'running' && b.progress.running === 0 ? b : undefined;
    },
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
  });
}

/** Most runs in flight at once, from the runs' own start and end times. */
async function maxOverlap(runIds: string[]) {
  const runs = await Promise.all(runIds.map((id) => ok(h, 'GET', `/runs/${id}`)));
  const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.endedAt)] as const);
  return Math.max(...spans.map(([s]) => spans.filter(([s2, e2]) => s2 <= s && s < e2).length));
}

beforeAll(async () => {
  h = await engineHarness();
  await putWorkflow(h, {
    name: 'daily',
    params: { day: { type: 'string', required: true } },
    tasks: { hold: { type: 'wait', duration: '300ms' }, out: { type: 'noop', after: 'hold', output: '${params.day}' } },
  });
});
afterAll(() => h.stop());

describe('the local runtime scheduler (real clock)', () => {
  it('fires a every-second schedule on time, once per second, with no manual tick', async () => {
    await putWorkflow(h, { name: 'tick', tasks: { t: { type: 'noop' } } });
    await ok(h, 'PUT', '/workflows/tick/schedules/sec', { cron: '* * * * * *' }, 201);
    await until('three scheduled runs', async () => ((await runsOf(h, 'tick')).length >= 3 ? true : undefined));
    await ok(h, 'DELETE', '/workflows/tick/schedules/sec', undefined, 204);
    await new Promise((r) => setTimeout(r, 1500));
    const runs = await runsOf(h, 'tick');
    const times = fireTimesOf(runs).map((t) => Date.parse(t));
    expect(new Set(times).size).toBe(times.length);
    expect(times.at(-1)! - times[0]!).toBe((times.length - 1) * 1000); // every second, none missed
    expect(runs.every((r) => r.trigger.type === 'schedule' && r.trigger.misfired === undefined)).toBe(true);
  });
});

describe('backfill', () => {
  it('serial: one run per fire time, each after the previous ended; a retried request is the same backfill', async () => {
    const body = { cron: '0 0 * * *', start: '2025-01-01T00:00:00Z', end: '2025-01-04T00:00:00Z', params: { day: '${schedule.date}' } };
    const headers = { 'Idempotency-Key': 'serial-1' };
    const created = await ok(h, 'POST', '/workflows/daily/backfills', body, 201, headers);
    expect(created).toMatchObject({ mode: 'serial', parallelism: 1, rerun: false, status: 'running' });
    expect(created.progress.total).toBe(4);
    const again = await ok(h, 'POST', '/workflows/daily/backfills', body, 200, headers);
    expect(again.backfillId).toBe(created.backfillId);
    const conflict = await h.request('POST', '/workflows/daily/backfills', { ...body, end: '2025-01-05T00:00:00Z' }, headers);
    expect(conflict.status).toBe(409);

    const done = await finished(created.backfillId);
    expect(done).toMatchObject({ status: 'completed', progress: { total: 4, done: 4, failed: 0, running: 0, remaining: 0 } });
    const runs = (await runsOf(h, 'daily')).filter((r) => r.trigger.backfillId === created.backfillId);
    expect(fireTimesOf(runs)).toEqual(days('2025-01-01T00:00:00Z', 4));
    expect(done.runs.map((r: any) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(await maxOverlap(runs.map((r) => r.runId))).toBe(1);
    const first = await ok(h, 'GET', `/runs/${done.runs[0].runId}`);
    expect(first.params).toEqual({ day: '2025-01-01' });
    expect(first.trigger).toEqual({ type: 'backfill', backfillId: created.backfillId, fireTime: '2025-01-01T00:00:00.000Z' });
  });

  it('parallel N=2: never more than two at once', async () => {
    const b = await ok(
      h,
      'POST',
      '/workflows/daily/backfills',
      {
        cron: '0 12 * * *',
        timezone: 'Europe/Paris',
        start: '2025-02-01T00:00:00Z',
        end: '2025-02-06T23:00:00Z',
        mode: 'parallel',
        parallelism: 2,
        params: { day: '${schedule.date}' },
      },
      201,
    );
    const done = await finished(b.backfillId);
    expect(done.progress).toMatchObject({ total: 6, done: 6, running: 0, remaining: 0 });
    const runs = (await runsOf(h, 'daily')).filter((r) => r.trigger.backfillId === b.backfillId);
    expect(runs).toHaveLength(6);
    expect(new Set(fireTimesOf(runs)).size).toBe(6);
    const overlap = await maxOverlap(runs.map((r) => r.runId));
    expect(overlap).toBeLessThanOrEqual(2);
  });

  it('rerun false skips fire times the schedule already ran; rerun true runs them again', async () => {
    await putWorkflow(h, { name: 'hourly', tasks: { t: { type: 'noop' } } });
    await ok(h, 'PUT', '/workflows/hourly/schedules/h', { cron: '0 * * * *', enabled: false }, 201); // paused: no real-time fires here
    // The schedule already ran 01:00 (the run its own tick would have made).
    const t1 = new Date('2025-03-01T01:00:00Z');
    await startWorkflow(h.runtime.deps, {
      workflow: 'hourly',
      runId: scheduleRunId('hourly', 'h', t1),
      trigger: { type: 'schedule', scheduleId: 'h', fireTime: t1.toISOString() },
    });
    await h.waitForRun(scheduleRunId('hourly', 'h', t1));
    const range = { scheduleId: 'h', start: '2025-03-01T00:00:00Z', end: '2025-03-01T02:00:00Z', mode: 'parallel', parallelism: 3 };
    const b1 = await ok(h, 'POST', '/workflows/hourly/backfills', range, 201);
    const d1 = await finished(b1.backfillId);
    expect(d1.progress).toMatchObject({ total: 3, done: 2, alreadyRan: 1 });
    expect(d1.runs.map((r: any) => r.runId)).toEqual(
      ['00', '01', '02'].map((hh) => scheduleRunId('hourly', 'h', new Date(`2025-03-01T${hh}:00:00Z`))),
    );
    expect(await runsOf(h, 'hourly')).toHaveLength(3);

    const b2 = await ok(h, 'POST', '/workflows/hourly/backfills', { ...range, rerun: true }, 201);
    const d2 = await finished(b2.backfillId);
    expect(d2.progress).toMatchObject({ total: 3, done: 3, alreadyRan: 0 });
    expect(await runsOf(h, 'hourly')).toHaveLength(6);
  });

  it('cancel stops starting new runs; the one in flight finishes and is counted', async () => {
    await putWorkflow(h, { name: 'slowday', tasks: { hold: { type: 'wait', duration: '1s' } } });
    const b = await ok(
      h,
      'POST',
      '/workflows/slowday/backfills',
      { cron: '0 0 * * *', start: '2025-01-01T00:00:00Z', end: '2025-01-05T00:00:00Z' },
      201,
    );
    const cancelled = await ok(h, 'POST', `/backfills/${b.backfillId}/cancel`);
    expect(cancelled.status).toBe('cancelled');
    expect((await ok(h, 'POST', `/backfills/${b.backfillId}/cancel`)).status).toBe('cancelled'); // idempotent
    const done = await finished(b.backfillId);
    expect(done.progress).toMatchObject({ total: 5, done: 1, running: 0, remaining: 4 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await runsOf(h, 'slowday')).toHaveLength(1);
  });

  it('validates the request, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ cron: '0 0 * * *', end: '2025-01-02T00:00:00Z' }, 'start'],
      [{ cron: '0 0 * * *', start: '2025-01-02T00:00:00Z', end: '2025-01-01T00:00:00Z' }, 'end'],
      [{ cron: '0 0 * * *', start: '2025-01-01T00:00:00Z', end: '2999-01-01T00:00:00Z' }, 'end'],
      [{ cron: '0 0 * * * *x', start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' }, 'cron'],
      [{ cron: '0 0 * * *', timezone: 'Nowhere/Land', start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' }, 'timezone'],
      [{ start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' }, 'cron'],
      [{ cron: '* * * * *', start: '2020-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z', params: { day: 'x' } }, 'end'],
      [{ cron: '0 0 * * *', start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z', mode: 'parallel', parallelism: 0 }, 'parallelism'],
      [{ cron: '0 0 * * *', start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' }, 'params.day'],
    ];
    for (const [body, field] of cases) {
      const r = await h.request('POST', '/workflows/daily/backfills', body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(400);
      expect(r.body.error.details.map((d: any) => d.path)).toContain(field);
    }
    expect((await h.request('GET', '/backfills/nope')).status).toBe(404);
  });
});
