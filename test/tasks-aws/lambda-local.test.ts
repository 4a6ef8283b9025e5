import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

// The executor reads the map when a task first runs: set it before anything runs.
process.env.BATON_LAMBDA_MAP = fileURLToPath(new URL('./fixtures/lambda-map.json', import.meta.url));
delete process.env.BATON_API_URL;

type Call = { fn: string; event: any; context?: any };
const calls = (): Call[] => ((globalThis as any).__batonLambdaCalls ??= []);

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('lambda task type with local modules (BATON_LAMBDA_MAP), end to end', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    calls().length = 0;
  });

  async function run(name: string, tasks: Record<string, unknown>) {
    const put = await h.request('PUT', `/workflows/${name}`, { name, tasks });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    const start = await h.request('POST', `/workflows/${name}/runs`, {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    return start.body.runId as string;
  }

  it('sync: calls the mapped export with the payload and Baton context; the result is the output', async () => {
    const runId = await run('lam-sync', {
      a: { type: 'lambda', function: 'greeter', payload: { who: 'world' } },
      b: { type: 'lambda', function: 'doubler', qualifier: 'live', after: ['a'], payload: { n: 21 } },
      c: { type: 'noop', after: ['a'], output: '${tasks.a.output.greeting}' },
    });
    const r = await h.waitForRun(runId);
    expect(r.status).toBe('succeeded');
    const byName = Object.fromEntries(r.tasks.map((t: any) => [t.name, t]));
    expect(byName.a.output).toEqual({ greeting: 'hello world', attempt: 1 });
    expect(byName.b.output).toBe(42);
    expect(byName.c.output).toBe('hello world');
    const greet = calls().find((c) => c.fn === 'greet') as Call;
    expect(greet.event).toEqual({
      who: 'world',
      baton: { runId, task: 'a', attempt: 1, idempotencyKey: `${runId}/a/1` },
    });
    expect(greet.context.functionName).toBe('greeter');
    expect(greet.context.remaining).toBeGreaterThan(0);
  });

  it('sync: a function error fails the attempt with its type and message, and is retried per the policy', async () => {
    const runId = await run('lam-err', {
      x: { type: 'lambda', function: 'exploder', payload: { what: 'this' }, retry: { attempts: 2, delay: '10ms' } },
    });
    const r = await h.waitForRun(runId);
    expect(r.status).toBe('failed');
    expect(r.tasks[0].error).toEqual({ reason: 'function_error', message: 'ValidationError: cannot handle this' });
    expect(r.tasks[0].attempts).toHaveLength(2);
    expect(
      calls()
        .filter((c) => c.fn === 'explode')
        .map((c) => c.event.baton.attempt),
    ).toEqual([1, 2]);
  });

  it('a payload over the limit fails before anything is called, without retries', async () => {
    // Run params stop at 128 KiB (engine/limits.ts), so the payload grows past 1 MB by using the param 12 times.
    const big = 'x'.repeat(100 * 1024);
    const ref = '${params.big}';
    const put = await h.request('PUT', '/workflows/lam-big', {
      name: 'lam-big',
      params: { big: { type: 'string', required: true } },
      tasks: {
        x: {
          type: 'lambda',
          function: 'arn:aws:lambda:us-east-1:123456789012:function:worker-bg',
          mode: 'async',
          payload: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`p${i}`, ref])),
          retry: { attempts: 3 },
        },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', '/workflows/lam-big/runs', { params: { big } });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const r = await h.waitForRun(start.body.runId);
    expect(r.status).toBe('failed');
    expect(r.tasks[0].error.reason).toBe('payload_too_large');
    expect(r.tasks[0].error.message).toMatch(/asynchronous invocation payload is \d+ bytes; Lambda accepts at most 1048576/);
    expect(r.tasks[0].attempts).toHaveLength(1);
    expect(calls()).toHaveLength(0);
  });

  it('a broken mapping fails clearly and is not retried', async () => {
    const runId = await run('lam-broken', { x: { type: 'lambda', function: 'broken', retry: { attempts: 3 } } });
    const r = await h.waitForRun(runId);
    expect(r.status).toBe('failed');
    expect(r.tasks[0].error.reason).toBe('lambda_map');
    expect(r.tasks[0].error.message).toMatch(/missing\.mjs/);
    expect(r.tasks[0].attempts).toHaveLength(1);
  });

  it('async: the attempt waits (no worker sleeping) until the function reports through POST /callbacks/{token}', async () => {
    const runId = await run('lam-async', {
      job: {
        type: 'lambda',
        function: 'arn:aws:lambda:us-east-1:123456789012:function:worker-bg',
        mode: 'async',
        payload: { file: 's3://bucket/key' },
      },
      after: { type: 'noop', after: ['job'], output: '${tasks.job.output.rows}' },
    });
    const call = await waitFor('the async invocation', () => calls().find((c) => c.fn === 'background'));
    const baton = call.event.baton;
    expect(call.event.file).toBe('s3://bucket/key');
    expect(baton).toMatchObject({ runId, task: 'job', attempt: 1, idempotencyKey: `${runId}/job/1` });
    expect(baton.callbackToken).toMatch(/^v1\./);
    expect(baton.callbackUrl).toBeUndefined();

    const waiting = await waitFor('the task to wait', async () => {
      const r = await h.request('GET', `/runs/${runId}`);
      return r.body.tasks[0].status === 'waiting' ? r.body : undefined;
    });
    expect(waiting.status).toBe('running');
    // The token's hash, not the token, is stored.
    const item = await h.runtime.deps.db.get<any>({ pk: `RUN#${runId}`, sk: 'TASK#job' });
    expect(JSON.stringify(item)).not.toContain(baton.callbackToken);

    // A wrong secret for the right attempt: 403. Garbage: 404.
    const forged = baton.callbackToken.replace(/\.[^.]+$/, `.${'A'.repeat(32)}`);
    expect((await h.request('POST', `/callbacks/${forged}`, { output: 1 })).status).toBe(403);
    expect((await h.request('POST', '/callbacks/not-a-token', { output: 1 })).status).toBe(404);
    expect((await h.request('POST', `/callbacks/${baton.callbackToken}`, { outptu: 1 })).status).toBe(400);

    const ok = await h.request('POST', `/callbacks/${baton.callbackToken}`, { output: { rows: 7 } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(ok.body).toEqual({ status: 'accepted', runId, task: 'job', attempt: 1 });
    const again = await h.request('POST', `/callbacks/${baton.callbackToken}`, { output: { rows: 8 } });
    expect(again.status).toBe(409);

    const r = await h.waitForRun(runId);
    expect(r.status).toBe('succeeded');
    expect(r.tasks.map((t: any) => t.output)).toEqual([{ rows: 7 }, 7]);
    expect(r.tasks[0].attempts).toHaveLength(1);
    expect(calls().filter((c) => c.fn === 'background')).toHaveLength(1);
    const late = await h.request('POST', `/callbacks/${baton.callbackToken}`, { output: { rows: 9 } });
    expect(late.status).toBe(409);
  });

  it('async: an error report fails the attempt; the retry is a new attempt with a new token; the old token is stale (409)', async () => {
    const runId = await run('lam-async-err', {
      job: {
        type: 'lambda',
        function: 'arn:aws:lambda:us-east-1:123456789012:function:worker-bg',
        mode: 'async',
        retry: { attempts: 2, delay: '10ms' },
      },
    });
    const first = (await waitFor('attempt 1', () => calls().find((c) => c.event.baton.attempt === 1))).event.baton;
    const e1 = await h.request('POST', `/callbacks/${first.callbackToken}`, { error: { message: 'disk full', reason: 'no_space' } });
    expect(e1.status, JSON.stringify(e1.body)).toBe(202);
    const second = (await waitFor('attempt 2', () => calls().find((c) => c.event.baton.attempt === 2))).event.baton;
    expect(second.callbackToken).not.toBe(first.callbackToken);
    expect(second.idempotencyKey).toBe(`${runId}/job/2`);
    const stale = await h.request('POST', `/callbacks/${first.callbackToken}`, { output: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('stale_attempt');
    const e2 = await h.request('POST', `/callbacks/${second.callbackToken}`, { error: { message: 'still full', retryable: false } });
    expect(e2.status).toBe(202);
    const r = await h.waitForRun(runId);
    expect(r.status).toBe('failed');
    expect(r.tasks[0].error).toEqual({ reason: 'callback', message: 'still full' });
    expect(r.tasks[0].attempts.map((a: any) => a.error)).toEqual([
      { reason: 'callback', message: 'disk full', callbackReason: 'no_space' },
      { reason: 'callback', message: 'still full' },
    ]);
  });

  it('the definition is checked against the schema: bad function names and the reserved "baton" key are rejected', async () => {
    const bad = await h.request('PUT', '/workflows/lam-bad', {
      name: 'lam-bad',
      tasks: {
        a: { type: 'lambda', function: 'not a function name' },
        b: { type: 'lambda', function: 'ok', payload: { baton: 1 } },
        c: { type: 'lambda', function: 'ok', mode: 'later' },
      },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.details.map((d: any) => d.path).join(' ');
    expect(paths).toMatch(/a\.function/);
    expect(paths).toMatch(/b\.payload/);
    expect(paths).toMatch(/c\.mode/);
  });
});
