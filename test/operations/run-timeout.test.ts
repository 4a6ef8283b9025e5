import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { runWhen, task, until } from './support.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
}

/**
 * Run-level `timeout` and `sla` on the run's durable clock, and the events they (and every run status
 * change) emit, delivered to webhooks declared in `notify`: at least once, with one Idempotency-Key per
 * event, bounded retries, and a dead webhook that blocks nothing.
 */
describe('run timeout, sla and notify webhooks', () => {
  let h: Harness;
  let server: Server;
  let url = '';
  const received: Received[] = [];
  const held: string[] = [];
  const closed: string[] = [];
  beforeAll(async () => {
    process.env.BATON_WEBHOOK_ATTEMPTS = '3';
    process.env.BATON_WEBHOOK_RETRY_MS = '50';
    server = createServer((req, res) => {
      if (req.url === '/hold') {
        held.push(req.url);
        req.socket.on('close', () => closed.push(req.url ?? ''));
        return;
      }
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
        res.writeHead(req.url === '/dead' ? 500 : 204).end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    h = await startHarness({ BATON_LEASE_MS: '60000', BATON_CANCEL_CHECK_MS: '200' });
  });
  afterAll(async () => {
    await h.stop();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  const hook = (path: string) => received.filter((r) => r.path === path);

  it('a run past its timeout fails with reason timeout, its work stopped as for a cancel; a dead webhook blocks nothing', async () => {
    await h.request('PUT', '/workflows/late', {
      name: 'late',
      timeout: '1500ms',
      sla: '300ms',
      notify: [
        { on: ['failed', 'sla_missed', 'running'], webhook: `${url}/hook` },
        { on: ['failed'], webhook: `${url}/dead` },
      ],
      tasks: {
        call: { type: 'http', url: `${url}/hold`, requestTimeout: '10m' },
        nap: { type: 'wait', duration: '1h' },
        after: { type: 'noop', after: ['call', 'nap'] },
      },
    });
    const runId = (await h.request('POST', '/workflows/late/runs', {})).body.runId as string;
    const run = await runWhen(h, runId, 'the run to time out', (r) => r.status === 'failed', 60_000);
    expect(run.failure).toMatchObject({ reason: 'timeout' });
    await until('the held call to be closed', async () => closed.length === 1, 60_000);
    const ended = await runWhen(h, runId, 'its tasks to be cancelled', (r) =>
      ['call', 'nap'].every((n) => task(r, n).status === 'cancelled'),
    );
    expect(task(ended, 'call').error.reason).toBe('run_timeout');
    expect(task(ended, 'after').status).toBe('blocked');

    await until('the events to arrive', async () =>
      ['running', 'sla_missed', 'failed'].every((n) => hook('/hook').some((r) => r.body.name === n)),
    ).catch(async (e) => {
      throw new Error(
        `${e.message}: ${JSON.stringify(received.map((r) => [r.path, r.body.name]))} ${JSON.stringify(await h.runtime.deps.db.get({ pk: `RUN#${runId}`, sk: 'CLOCK' }))}`,
      );
    });
    for (const name of ['running', 'sla_missed', 'failed']) {
      const got = hook('/hook').filter((r) => r.body.name === name);
      // At least once; every copy of one event carries the same key.
      expect(new Set(got.map((r) => r.headers['idempotency-key']))).toEqual(new Set([got[0]?.body.id]));
    }
    const failed = hook('/hook').find((r) => r.body.name === 'failed')?.body;
    expect(failed).toMatchObject({
      source: 'baton',
      'detail-type': 'Baton Run Status Change',
      runId,
      detail: { runId, workflow: 'late', status: 'failed', previousStatus: 'running', error: 'timeout' },
    });
    expect(hook('/hook').find((r) => r.body.name === 'sla_missed')?.body).toMatchObject({
      'detail-type': 'Baton Run SLA Missed',
      detail: { runId, workflow: 'late' },
    });
    // The dead webhook: exactly BATON_WEBHOOK_ATTEMPTS tries of the one event, then given up.
    await until('the dead webhook to be tried 3 times', async () => hook('/dead').length === 3, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(hook('/dead')).toHaveLength(3);
    expect(new Set(hook('/dead').map((r) => r.headers['idempotency-key'])).size).toBe(1);
  }, 300_000);

  it('a run past its sla emits sla_missed once and keeps running to success', async () => {
    await h.request('PUT', '/workflows/slow', {
      name: 'slow',
      sla: '200ms',
      notify: [{ on: ['sla_missed', 'succeeded', 'task_failed'], webhook: `${url}/slow` }],
      tasks: { nap: { type: 'wait', duration: '1s' }, done: { type: 'noop', after: ['nap'] } },
    });
    const runId = (await h.request('POST', '/workflows/slow/runs', {})).body.runId as string;
    const run = await h.waitForRun(runId, 90_000);
    expect(run.status).toBe('succeeded');
    await until('the events to arrive', async () => hook('/slow').some((r) => r.body.name === 'succeeded'), 60_000);
    const missed = hook('/slow').filter((r) => r.body.name === 'sla_missed');
    expect(new Set(missed.map((r) => r.body.id)).size).toBe(1);
    expect(hook('/slow').every((r) => r.body.runId === runId && r.body.name !== 'task_failed')).toBe(true);
  }, 200_000);

  it('a recovered run gets its clock back: its sla and timeout count from the recovery', async () => {
    await h.request('PUT', '/workflows/again', {
      name: 'again',
      timeout: '1s',
      sla: '200ms',
      notify: [{ on: ['sla_missed', 'failed'], webhook: `${url}/again` }],
      tasks: { nap: { type: 'wait', duration: '1h' } },
    });
    const runId = (await h.request('POST', '/workflows/again/runs', {})).body.runId as string;
    const first = await runWhen(h, runId, 'the run to time out', (r) => r.status === 'failed', 60_000);
    expect(first.failure).toMatchObject({ reason: 'timeout' });
    const missed = () => hook('/again').filter((r) => r.body.name === 'sla_missed' && r.body.runId === runId);
    await until('the first sla_missed', async () => missed().length > 0, 60_000);

    expect((await h.request('POST', `/runs/${runId}/recover`)).status).toBe(202);
    // Without its clock back, the recovered run would wait an hour: it times out again, in its own episode.
    const again = await runWhen(
      h,
      runId,
      'the recovered run to time out',
      (r) => r.status === 'failed' && r.recoveries === 1,
      60_000,
    ).catch(async (e) => {
      const items = await h.runtime.deps.db.get({ pk: `RUN#${runId}`, sk: 'CLOCK' });
      const r = (await h.request('GET', `/runs/${runId}`)).body;
      throw new Error(`${e.message}: ${JSON.stringify(items)} ${JSON.stringify(r)}`);
    });
    expect(again.failure).toMatchObject({ reason: 'timeout', message: 'the run exceeded its timeout of 1000 ms' });
    // Its work is stopped as for a cancel, in this episode too.
    await runWhen(
      h,
      runId,
      'the recovered nap to be cancelled',
      (r) => task(r, 'nap').status === 'cancelled' && task(r, 'nap').attempt === 2,
    );
    const clock = await h.runtime.deps.db.get<Record<string, unknown>>({ pk: `RUN#${runId}`, sk: 'CLOCK' });
    expect(clock).toMatchObject({ episode: 1, status: 'done' });
    expect(clock?.timeoutAt).toBe((clock?.countsFrom as number) + 1000);
    // Counted from the recovery, which came after the first timeout.
    expect(clock?.countsFrom).toBeGreaterThanOrEqual(Date.parse(first.endedAt));

    // A second sla_missed (another event, another key) for the recovered episode; a failed event for each episode.
    await until(
      'the second sla_missed and failed',
      async () => {
        const failed = hook('/again').filter((r) => r.body.name === 'failed');
        return new Set(missed().map((r) => r.body.id)).size === 2 && new Set(failed.map((r) => r.body.id)).size === 2;
      },
      60_000,
    );
    expect(missed().find((r) => r.body.detail.recoveries === 1)?.body.detail).toMatchObject({ runId, workflow: 'again' });
  }, 200_000);

  it('each failed attempt that is retried is a task_retrying event, the last failure a task_failed one', async () => {
    await h.request('PUT', '/workflows/flaky', {
      name: 'flaky',
      notify: [{ on: ['task_retrying', 'task_failed'], webhook: `${url}/flaky` }],
      tasks: { boom: { type: 'fail', message: 'kaput', retry: { attempts: 3, delay: '100ms', backoff: 'fixed' } } },
    });
    const runId = (await h.request('POST', '/workflows/flaky/runs', {})).body.runId as string;
    const run = await h.waitForRun(runId, 90_000);
    expect(run.status).toBe('failed');
    const names = () => [...new Map(hook('/flaky').map((r) => [r.body.id, r.body])).values()];
    await until('three events', async () => names().length === 3, 60_000).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(names())}`);
    });
    const retrying = names()
      .filter((e) => e.name === 'task_retrying')
      .sort((a, b) => a.detail.attempt - b.detail.attempt);
    expect(retrying.map((e) => [e.detail.attempt, e.detail.nextAttempt])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    for (const e of retrying) {
      expect(e).toMatchObject({
        'detail-type': 'Baton Task Retrying',
        runId,
        detail: { runId, task: 'boom', status: 'retrying', cause: 'kaput' },
      });
      // The next attempt starts once its retry falls due, never before the time the event announced.
      const next = task(run, 'boom').attempts.find((a: any) => a.attempt === e.detail.nextAttempt);
      expect(Date.parse(next.startedAt)).toBeGreaterThanOrEqual(Date.parse(e.detail.nextAttemptDate));
    }
    expect(names().find((e) => e.name === 'task_failed')?.detail).toMatchObject({ task: 'boom', attempt: 3 });
    // Every copy of one event carries its id as the Idempotency-Key.
    for (const r of hook('/flaky')) expect(r.headers['idempotency-key']).toBe(r.body.id);
  }, 200_000);

  it('refuses a bad timeout, sla or notify, naming the field', async () => {
    const r = await h.request('PUT', '/workflows/bad', {
      name: 'bad',
      timeout: 'soon',
      sla: -1,
      notify: [{ on: ['exploded'], webhook: 'ftp://x' }],
      tasks: { a: { type: 'noop' } },
    });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['timeout', 'sla', 'notify[0].on[0]', 'notify[0].webhook']));
  });
});
