import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, type Route, startHttpTarget } from '../support/http-target.js';
import { until } from '../support/wait.js';

const task = (run: any, name: string) => {
  const t = run.tasks.find((x: any) => x.name === name);
  if (!t) throw new Error(`no task ${name} in ${JSON.stringify(run.tasks.map((x: any) => x.name))}`);
  return t;
};

describe('retries, failure strategies and timeouts', () => {
  let h: Harness;
  let target: HttpTarget;

  beforeAll(async () => {
    [h, target] = await Promise.all([startHarness({ BATON_LEASE_MS: '2000' }), startHttpTarget()]);
  });
  afterAll(async () => {
    await target.close();
    await h.stop();
  });

  /** A route that answers 200 with `body` once task `name` of the calling run (named by the Idempotency-Key) has failed. */
  const answerOnceFailed =
    (name: string, body: unknown): Route =>
    async (req) => {
      const runId = String(req.headers['idempotency-key']).split('/')[0];
      await until(`${name} to fail`, async () => task((await h.request('GET', `/runs/${runId}`)).body, name).status === 'failed', 20_000);
      return { status: 200, body };
    };

  async function run(def: Record<string, unknown>, params?: Record<string, unknown>) {
    const name = def.name as string;
    const put = await h.request('PUT', `/workflows/${name}`, def);
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', `/workflows/${name}/runs`, params ? { params } : {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    return { runId: start.body.runId as string, run: await h.waitForRun(start.body.runId, 30_000) };
  }

  it('retries an http task that fails twice, then succeeds; each attempt has its own Idempotency-Key', async () => {
    target.route('/flaky', (r) => (r.n <= 2 ? { status: 503, body: { error: 'busy' } } : { status: 200, body: { rows: 12 } }));
    const { runId, run: r } = await run({
      name: 'retry-ok',
      tasks: {
        fetch: { type: 'http', url: `${target.url}/flaky`, retry: { attempts: 4, delay: '200ms' } },
        after: { type: 'noop', after: ['fetch'], output: '${tasks.fetch.output.rows}' },
      },
    });
    expect(r.status).toBe('succeeded');
    const f = task(r, 'fetch');
    expect(f.status).toBe('succeeded');
    expect(f.attempt).toBe(3);
    expect(f.output).toEqual({ rows: 12 });
    expect(f.attempts.map((a: any) => [a.attempt, a.status, a.error?.reason])).toEqual([
      [1, 'failed', 'http_503'],
      [2, 'failed', 'http_503'],
      [3, 'succeeded', undefined],
    ]);
    // The retry waited for its delay: attempt n+1 started at least 200 ms after attempt n ended.
    for (let i = 1; i < 3; i++) {
      expect(Date.parse(f.attempts[i].startedAt) - Date.parse(f.attempts[i - 1].endedAt)).toBeGreaterThanOrEqual(190);
    }
    const keys = target.received('/flaky').map((x) => x.headers['idempotency-key']);
    expect(keys).toEqual([`${runId}/fetch/1`, `${runId}/fetch/2`, `${runId}/fetch/3`]);
    expect(new Set(keys).size).toBe(3);
    expect(task(r, 'after').output).toBe(12);
    expect(r.output).toEqual({ after: 12 });
  });

  it('failureStrategy end: once a task has failed, tasks not yet started are skipped; in-flight ones finish', async () => {
    target.route('/end/bad', () => ({ status: 500, body: 'boom' }));
    // In flight until bad has failed for good, on any machine (a fixed 1.5 s raced bad's two attempts).
    target.route('/end/slow', answerOnceFailed('bad', { slow: true }));
    const { run: r } = await run({
      name: 'strategy-end',
      failureStrategy: 'end',
      tasks: {
        bad: { type: 'http', url: `${target.url}/end/bad`, retry: { attempts: 2, delay: '100ms' } },
        slow: { type: 'http', url: `${target.url}/end/slow` },
        afterBad: { type: 'noop', after: ['bad'] },
        afterSlow: { type: 'noop', after: ['slow'] },
        join: { type: 'noop', after: ['afterSlow', 'afterBad'] },
      },
    });
    expect(r.status).toBe('failed');
    expect(r.failure).toMatchObject({ task: 'bad', reason: 'http_500' });
    expect(r.failure.message).toContain('500');

    const bad = task(r, 'bad');
    expect(bad.status).toBe('failed');
    expect(bad.attempts.map((a: any) => a.error?.reason)).toEqual(['http_500', 'http_500']);
    expect(target.received('/end/bad')).toHaveLength(2);

    // In flight when bad failed: it was allowed to finish.
    const slow = task(r, 'slow');
    expect(slow.status).toBe('succeeded');
    expect(slow.output).toEqual({ slow: true });
    expect(Date.parse(slow.endedAt)).toBeGreaterThan(Date.parse(bad.endedAt));

    // Not started when bad failed: skipped, even though its own dependency succeeded.
    expect(task(r, 'afterSlow')).toMatchObject({ status: 'skipped', attempt: 0, attempts: [] });
    expect(task(r, 'afterSlow').error.reason).toBe('run_failed');
    expect(task(r, 'afterBad')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(task(r, 'join').status).toBe('skipped');
    // The run ended only after the in-flight task finished.
    expect(Date.parse(r.endedAt)).toBeGreaterThanOrEqual(Date.parse(slow.endedAt));
  });

  it('failureStrategy continue: independent branches run to success, dependents are skipped, the run fails', async () => {
    target.route('/cont/bad', () => ({ status: 502, body: 'bad gateway' }));
    // slow answers only once bad has failed for good, so that afterSlow starts after the failure on any
    // machine (a fixed 800 ms raced bad's two attempts, and lost on a loaded one).
    target.route('/cont/slow', answerOnceFailed('bad', { ok: 1 }));
    const { run: r } = await run({
      name: 'strategy-continue',
      failureStrategy: 'continue',
      tasks: {
        bad: { type: 'http', url: `${target.url}/cont/bad`, retry: { attempts: 2, delay: '100ms' } },
        slow: { type: 'http', url: `${target.url}/cont/slow` },
        afterBad: { type: 'noop', after: ['bad'] },
        afterAfterBad: { type: 'noop', after: ['afterBad'] },
        afterSlow: { type: 'noop', after: ['slow'], output: '${tasks.slow.output.ok}' },
        afterSlow2: { type: 'noop', after: ['afterSlow'] },
        join: { type: 'noop', after: ['afterSlow2', 'afterBad'] },
      },
    });
    expect(r.status).toBe('failed');
    expect(r.failure).toMatchObject({ task: 'bad', reason: 'http_502' });
    expect(task(r, 'bad').status).toBe('failed');
    expect(target.received('/cont/bad')).toHaveLength(2);
    for (const n of ['slow', 'afterSlow', 'afterSlow2']) expect(task(r, n).status, n).toBe('succeeded');
    expect(task(r, 'afterSlow').output).toBe(1);
    // afterSlow started after bad had already failed: under `continue` that does not stop it.
    expect(Date.parse(task(r, 'afterSlow').startedAt)).toBeGreaterThan(Date.parse(task(r, 'bad').endedAt));
    for (const n of ['afterBad', 'afterAfterBad', 'join']) {
      expect(task(r, n).status, n).toBe('skipped');
      expect(task(r, n).error.reason).toBe('upstream');
      expect(task(r, n).attempts).toEqual([]);
    }
    expect(Date.parse(r.endedAt)).toBeGreaterThanOrEqual(Date.parse(task(r, 'afterSlow2').endedAt));
  });

  it('a fail task with retryable: false fails at once despite its retry policy', async () => {
    const { run: r } = await run({
      name: 'fail-fast',
      tasks: { f: { type: 'fail', message: 'no', retryable: false, retry: { attempts: 5, delay: '100ms' } } },
    });
    expect(r.status).toBe('failed');
    expect(r.failure).toEqual({ task: 'f', reason: 'fail', message: 'no' });
    expect(task(r, 'f').attempts).toHaveLength(1);
  });

  it('times out an http call that never answers (timeout: 1s) with reason timeout, and retries it', async () => {
    target.route('/hang', () => ({ hang: true }));
    const t0 = Date.now();
    const { runId, run: r } = await run({
      name: 'timeout',
      tasks: {
        call: { type: 'http', url: `${target.url}/hang`, timeout: '1s', retry: { attempts: 2, delay: '100ms' } },
        next: { type: 'noop', after: ['call'] },
      },
    });
    const elapsed = Date.now() - t0;
    expect(r.status).toBe('failed');
    expect(r.failure).toMatchObject({ task: 'call', reason: 'timeout' });
    const call = task(r, 'call');
    expect(call.status).toBe('failed');
    expect(call.error.reason).toBe('timeout');
    expect(call.attempts.map((a: any) => [a.attempt, a.status, a.error?.reason])).toEqual([
      [1, 'failed', 'timeout'],
      [2, 'failed', 'timeout'],
    ]);
    for (const a of call.attempts) {
      const took = Date.parse(a.endedAt) - Date.parse(a.startedAt);
      expect(took).toBeGreaterThanOrEqual(950);
    }
    expect(target.received('/hang').map((x) => x.headers['idempotency-key'])).toEqual([`${runId}/call/1`, `${runId}/call/2`]);
    expect(task(r, 'next').status).toBe('skipped');
    expect(elapsed).toBeGreaterThanOrEqual(2000);
  });
});
