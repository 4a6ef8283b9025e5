import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';

const task = (run: any, name: string) => run.tasks.find((x: any) => x.name === name);

describe('the http task against a local server', () => {
  let h: Harness;
  let target: HttpTarget;

  beforeAll(async () => {
    [h, target] = await Promise.all([startHarness(), startHttpTarget()]);
  });
  afterAll(async () => {
    await target.close();
    await h.stop();
  });

  async function runOne(name: string, spec: Record<string, unknown>, params?: Record<string, unknown>, paramSpec?: unknown) {
    const put = await h.request('PUT', `/workflows/${name}`, { name, ...(paramSpec ? { params: paramSpec } : {}), tasks: { call: spec } });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', `/workflows/${name}/runs`, params ? { params } : {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const run = await h.waitForRun(start.body.runId);
    return { runId: start.body.runId as string, run, call: task(run, 'call') };
  }

  it('succeeds on a 2xx with the parsed JSON response as output', async () => {
    const body = { rows: 42, nested: { list: [1, 'two', null, true], empty: {} }, ratio: 0.5 };
    target.route('/ok', () => ({ status: 200, body }));
    const { runId, run, call } = await runOne('http-ok', { type: 'http', url: `${target.url}/ok` });
    expect(run.status).toBe('succeeded');
    expect(call.status).toBe('succeeded');
    expect(call.output).toEqual(body);
    expect(run.output).toEqual({ call: body });
    const [req] = target.received('/ok');
    expect(req?.method).toBe('GET');
    expect(req?.headers['idempotency-key']).toBe(`${runId}/call/1`);
  });

  it('a non-JSON 2xx body becomes a string output; 204 becomes null', async () => {
    target.route('/text', () => ({ status: 200, body: 'plain words' }));
    target.route('/empty', () => ({ status: 204 }));
    const a = await runOne('http-text', { type: 'http', url: `${target.url}/text` });
    expect(a.call.output).toBe('plain words');
    const b = await runOne('http-204', { type: 'http', url: `${target.url}/empty`, method: 'DELETE' });
    expect(b.run.status).toBe('succeeded');
    expect(b.call.output).toBeNull();
    expect(target.received('/empty')[0]?.method).toBe('DELETE');
  });

  it('retries a 500 up to its attempts, then fails with reason http_500', async () => {
    target.route('/500', () => ({ status: 500, body: { error: 'internal' } }));
    const { run, call } = await runOne('http-500', {
      type: 'http',
      url: `${target.url}/500`,
      retry: { attempts: 3, delay: '100ms' },
    });
    expect(run.status).toBe('failed');
    expect(call.status).toBe('failed');
    expect(call.error.reason).toBe('http_500');
    expect(call.error.message).toContain('internal');
    expect(call.attempts.map((a: any) => a.error?.reason)).toEqual(['http_500', 'http_500', 'http_500']);
    expect(target.received('/500')).toHaveLength(3);
    expect(run.failure).toMatchObject({ task: 'call', reason: 'http_500' });
  });

  it('does not retry a 404', async () => {
    target.route('/gone', () => ({ status: 404, body: { error: 'no such thing' } }));
    const { run, call } = await runOne('http-404', {
      type: 'http',
      url: `${target.url}/gone`,
      retry: { attempts: 5, delay: '100ms' },
    });
    expect(run.status).toBe('failed');
    expect(call.error.reason).toBe('http_404');
    expect(call.attempts).toHaveLength(1);
    // Give a wrongly scheduled retry time to happen before counting.
    await new Promise((r) => setTimeout(r, 400));
    expect(target.received('/gone')).toHaveLength(1);
  });

  it('fails a response past the size cap with response_too_large, without retrying', async () => {
    target.route('/huge', () => ({ bytes: 2 * 1024 * 1024 }));
    const { run, call } = await runOne('http-huge', {
      type: 'http',
      url: `${target.url}/huge`,
      retry: { attempts: 3, delay: '100ms' },
    });
    expect(run.status).toBe('failed');
    expect(call.error.reason).toBe('response_too_large');
    expect(call.attempts).toHaveLength(1);
    expect(target.received('/huge')).toHaveLength(1);
    // The run item stays small: nothing of the body was stored.
    expect(JSON.stringify(run).length).toBeLessThan(10_000);
  });

  it('a body just under a smaller maxResponseBytes is accepted, one byte over is not', async () => {
    target.route('/sized', (r) => ({ bytes: r.n === 1 ? 998 : 999 })); // + 2 quote characters
    const ok = await runOne('http-sized-ok', { type: 'http', url: `${target.url}/sized`, maxResponseBytes: 1000 });
    expect(ok.call.status).toBe('succeeded');
    expect((ok.call.output as string).length).toBe(998);
    const over = await runOne('http-sized-over', { type: 'http', url: `${target.url}/sized`, maxResponseBytes: 1000 });
    expect(over.call.error.reason).toBe('response_too_large');
  });

  it('sends custom headers and a templated JSON body', async () => {
    target.route('/post', (r) => ({ status: 201, body: { echoed: r.json } }));
    const { runId, run, call } = await runOne(
      'http-post',
      {
        type: 'http',
        method: 'POST',
        url: `${target.url}/post`,
        headers: { 'X-Team': 'data', 'x-run': '${run.id}' },
        body: { day: '${params.day}', n: '${params.n}', tags: ['a', '${params.day}'], nested: { ok: true, none: null } },
      },
      { day: '2026-11-27', n: 3 },
      { day: { type: 'string', required: true }, n: { type: 'integer', required: true } },
    );
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    const [req] = target.received('/post');
    expect(req?.method).toBe('POST');
    expect(req?.headers['x-team']).toBe('data');
    expect(req?.headers['x-run']).toBe(runId);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['idempotency-key']).toBe(`${runId}/call/1`);
    const sent = { day: '2026-11-27', n: 3, tags: ['a', '2026-11-27'], nested: { ok: true, none: null } };
    expect(req?.json).toEqual(sent);
    expect(call.output).toEqual({ echoed: sent });
  });

  it('a network error (nothing listening) is retryable and fails with reason network', async () => {
    const { run, call } = await runOne('http-refused', {
      type: 'http',
      url: 'http://127.0.0.1:1/nothing',
      retry: { attempts: 2, delay: '100ms' },
    });
    expect(run.status).toBe('failed');
    expect(call.attempts.map((a: any) => a.error?.reason)).toEqual(['network', 'network']);
  });
});
