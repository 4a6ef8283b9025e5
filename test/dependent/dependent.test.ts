import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listWaiters } from '../../functions/store/dependents.js';
import { engineHarness, ok, putWorkflow, runsOf } from '../schedules/support.js';
import type { Harness } from '../support/harness.js';
import { until } from '../support/wait.js';

/**
 * `type: dependent` over DynamoDB Local with the whole local engine (stream, workers, sweeper,
 * scheduler) on real time. The backstop re-check (`BATON_RECHECK_MS`) is ten minutes, far beyond any
 * wait here: a waiting task that finishes in this test was woken by the run that ended, not by it.
 */

const BACKSTOP_MS = 600_000;
let h: Harness;

beforeAll(async () => {
  h = await engineHarness({ schedulerIntervalMs: 200 }, { BATON_RECHECK_MS: String(BACKSTOP_MS), BATON_LEASE_MS: '15000' });
  await putWorkflow(h, { name: 'up', params: { day: { type: 'string', required: true } }, tasks: { t: { type: 'noop' } } });
  await putWorkflow(h, { name: 'upfail', tasks: { f: { type: 'fail', message: 'broken', retryable: false } } });
  await putWorkflow(h, {
    name: 'down',
    params: { day: { type: 'string', required: true } },
    tasks: {
      dep: { type: 'dependent', workflow: 'up', params: { day: '${params.day}' }, window: { from: '-1h', to: '+1h' } },
      use: { type: 'noop', after: 'dep', output: { upstream: '${tasks.dep.output.runId}' } },
    },
  });
});
afterAll(() => h.stop());

async function start(workflow: string, params: Record<string, unknown> = {}): Promise<string> {
  return (await ok(h, 'POST', `/workflows/${workflow}/runs`, { params }, 201)).runId;
}

const taskOf = (run: any, name: string) => run.tasks.find((t: { name: string }) => t.name === name);

/** Waits until `task` of `runId` is waiting (suspended, holding no worker); returns its view. */
async function waiting(runId: string, task = 'dep') {
  return until(`${runId}/${task} waiting`, async () => {
    const t = taskOf((await ok(h, 'GET', `/runs/${runId}`)) as any, task);
    return t?.status === 'waiting' ? t : undefined;
  });
}

/** The wait is durable and event-driven: its own wake-up is the far backstop, and its waiter is filed. */
async function expectDurableWait(runId: string, workflow: string) {
  const t = await waiting(runId);
  expect(Date.parse(t.wakeAt)).toBeGreaterThan(Date.now() + BACKSTOP_MS / 2);
  const mine = (await listWaiters(h.runtime.deps.db, workflow)).filter((w) => w.runId === runId);
  expect(mine.map((w) => [w.task, w.attempt])).toEqual([['dep', 1]]);
}

describe('type dependent', () => {
  it('waits for a run that a schedule starts later, and is woken when that run ends', async () => {
    const down = await start('down', { day: 'd1' });
    await expectDurableWait(down, 'up');
    // A schedule that fires once, two seconds from now (a cron with seconds, bounded by start and end).
    const fire = Math.ceil(Date.now() / 1000) * 1000 + 2000;
    await ok(
      h,
      'PUT',
      '/workflows/up/schedules/once',
      { cron: '* * * * * *', start: new Date(fire).toISOString(), end: new Date(fire + 500).toISOString(), params: { day: 'd1' } },
      201,
    );
    const done = await h.waitForRun(down);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    const scheduled = (await runsOf(h, 'up')).filter((r) => r.trigger?.type === 'schedule');
    expect(scheduled).toHaveLength(1);
    const dep = taskOf(done, 'dep');
    expect(dep.output).toEqual({
      runId: scheduled[0].runId,
      workflow: 'up',
      status: 'succeeded',
      logicalTime: new Date(fire).toISOString(),
      endedAt: expect.any(String),
    });
    expect(dep.attempts).toHaveLength(1);
    expect(taskOf(done, 'use').output).toEqual({ upstream: scheduled[0].runId });
    // Found, so its waiter is gone.
    expect((await listWaiters(h.runtime.deps.db, 'up')).filter((w) => w.runId === down)).toEqual([]);
  });

  it('a run with other params does not satisfy it: it keeps waiting until one that matches ends', async () => {
    const down = await start('down', { day: 'd2' });
    const control = await start('down', { day: 'other' });
    await expectDurableWait(down, 'up');
    await expectDurableWait(control, 'up');
    const before = await waiting(down);
    const other = await start('up', { day: 'other' });
    // The control task, which that run satisfies, is woken by the same run end that passes over `down`.
    const woke = await h.waitForRun(control);
    expect(taskOf(woke, 'dep').output).toMatchObject({ runId: other });
    const after = taskOf(await ok(h, 'GET', `/runs/${down}`), 'dep');
    expect(after.status).toBe('waiting');
    expect(after.wakeAt).toBe(before.wakeAt); // never woken, so never suspended again either
    const match = await start('up', { day: 'd2' });
    const done = await h.waitForRun(down);
    expect(done.status).toBe('succeeded');
    expect(taskOf(done, 'dep').output.runId).toBe(match);
  });

  it('a window is on logical time: a backfill run created now counts for the fire time it stands for', async () => {
    // This run's logical time is its creation; the window asks for a fire time between 48 h and 24 h before.
    await putWorkflow(h, {
      name: 'yesterday',
      tasks: { dep: { type: 'dependent', workflow: 'up', params: { day: 'bf' }, window: { from: '-2d', to: '-1d' } } },
    });
    const down = await start('yesterday');
    await expectDurableWait(down, 'up');
    // A run of up with the right params but a logical time of now is outside the window: it keeps waiting.
    const now = await start('up', { day: 'bf' });
    expect((await h.waitForRun(now)).status).toBe('succeeded');
    // One fire time 36 hours ago (a daily cron at that hour, a range of two minutes around it).
    const fire = Math.floor((Date.now() - 36 * 3_600_000) / 3_600_000) * 3_600_000;
    const hour = new Date(fire).getUTCHours();
    const range = { start: new Date(fire - 60_000).toISOString(), end: new Date(fire + 60_000).toISOString() };
    await ok(h, 'POST', '/workflows/up/backfills', { cron: `0 ${hour} * * *`, ...range, params: { day: 'bf' } }, 201);
    const done = await h.waitForRun(down);
    expect(done.status).toBe('succeeded');
    const backfilled = (await runsOf(h, 'up')).filter((r) => r.trigger?.type === 'backfill');
    expect(backfilled).toHaveLength(1);
    expect(taskOf(done, 'dep').output).toMatchObject({ runId: backfilled[0].runId, logicalTime: new Date(fire).toISOString() });
  });

  it('succeeds at once when a matching run has already ended', async () => {
    const up = await start('up', { day: 'd4' });
    expect((await h.waitForRun(up)).status).toBe('succeeded');
    const down = await start('down', { day: 'd4' });
    const done = await h.waitForRun(down);
    expect(done.status).toBe('succeeded');
    const dep = taskOf(done, 'dep');
    expect(dep.output).toMatchObject({ runId: up, status: 'succeeded' });
    expect(dep.attempts).toHaveLength(1);
    expect((await listWaiters(h.runtime.deps.db, 'up')).filter((w) => w.runId === down)).toEqual([]);
  });

  it('status: failed waits for a failed run (a window and no params)', async () => {
    await putWorkflow(h, {
      name: 'onfail',
      tasks: { dep: { type: 'dependent', workflow: 'upfail', status: 'failed', window: { from: '-1m', to: '+10m' } } },
    });
    const down = await start('onfail');
    await expectDurableWait(down, 'upfail');
    const failed = await start('upfail');
    expect((await h.waitForRun(failed)).status).toBe('failed');
    const done = await h.waitForRun(down);
    expect(done.status).toBe('succeeded');
    expect(taskOf(done, 'dep').output).toMatchObject({ runId: failed, workflow: 'upfail', status: 'failed' });
  });

  it('fails with reason timeout when nothing matches within its timeout', async () => {
    await putWorkflow(h, {
      name: 'impatient',
      tasks: { dep: { type: 'dependent', workflow: 'up', params: { day: 'never' }, timeout: '2s' } },
    });
    const down = await start('impatient');
    const done = await h.waitForRun(down);
    expect(done.status).toBe('failed');
    expect(taskOf(done, 'dep').error).toMatchObject({ reason: 'timeout' });
    expect(done.failure).toMatchObject({ task: 'dep', reason: 'timeout' });
  });

  it('fails with reason not_found for a workflow that does not exist', async () => {
    await putWorkflow(h, { name: 'orphan', tasks: { dep: { type: 'dependent', workflow: 'ghost', params: { a: 1 } } } });
    const done = await h.waitForRun(await start('orphan'));
    expect(done.status).toBe('failed');
    expect(taskOf(done, 'dep').error).toMatchObject({ reason: 'not_found', message: 'workflow ghost does not exist' });
  });

  it('a bad definition is a 400 naming the field, and nothing is stored', async () => {
    const r = await h.request('PUT', '/workflows/baddep', {
      name: 'baddep',
      tasks: { dep: { type: 'dependent', workflow: 'up', window: { from: 'yesterday' }, status: 'running' } },
    });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['tasks.dep.window.from', 'tasks.dep.status']));
    expect((await h.request('GET', '/workflows/baddep')).status).toBe(404);
  });
});
