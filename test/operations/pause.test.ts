import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';
import { gate, runWhen, sleep, task } from './support.js';

describe('pause and resume', () => {
  let h: Harness;
  let target: HttpTarget;
  beforeAll(async () => {
    h = await startHarness();
    target = await startHttpTarget();
    await h.request('PUT', '/workflows/two', {
      name: 'two',
      tasks: {
        first: { type: 'http', url: `${target.url}/first` },
        retried: { type: 'fail', message: 'no', after: ['first'], retry: { attempts: 2, delay: '200ms' } },
        next: { type: 'noop', after: ['first'], output: { done: true } },
      },
    });
  });
  afterAll(async () => {
    await h.stop();
    await target.close();
  });

  it('a run paused while its first task runs starts nothing more until resumed', async () => {
    const g = gate();
    target.route('/first', async () => {
      await g.opened;
      return { status: 200, body: { n: 1 } };
    });
    const runId = (await h.request('POST', '/workflows/two/runs', {})).body.runId as string;
    await runWhen(h, runId, 'first to run', (r) => task(r, 'first').status === 'running');
    const paused = await h.request('POST', `/runs/${runId}/pause`);
    expect(paused.status).toBe(202);
    expect(paused.body.status).toBe('paused');
    expect((await h.request('POST', `/runs/${runId}/pause`)).status).toBe(409);

    g.open(); // the running attempt finishes and is recorded
    const r = await runWhen(h, runId, 'first to succeed and its successors to be held', (x) =>
      ['next', 'retried'].every((n) => task(x, n).held === true),
    );
    expect(task(r, 'first').status).toBe('succeeded');
    await sleep(1500); // longer than a sweep interval and past the dispatch lease
    const still = (await h.request('GET', `/runs/${runId}`)).body;
    expect(still.status).toBe('paused');
    expect(still.actions).toEqual(['resume', 'cancel', 'rerun']);
    for (const n of ['next', 'retried']) {
      expect(task(still, n).status).toBe('queued');
      expect(task(still, n).startedAt).toBeUndefined();
      expect(task(still, n).attempts).toEqual([]);
    }

    expect((await h.request('POST', `/runs/${runId}/resume`)).status).toBe(202);
    expect((await h.request('POST', `/runs/${runId}/resume`)).status).toBe(409);
    const done = await h.waitForRun(runId);
    expect(done.status).toBe('failed');
    expect(task(done, 'next').status).toBe('succeeded');
    // A lease lost on a loaded machine adds a `lost` record; what counts is that both attempts failed.
    expect(task(done, 'retried').attempts.filter((a: any) => a.status === 'failed')).toHaveLength(2);
  });

  it('a retry that falls due while paused is held, and runs after resume', async () => {
    target.route('/first', () => ({ status: 200, body: {} }));
    const runId = (await h.request('POST', '/workflows/two/runs', {})).body.runId as string;
    await runWhen(h, runId, 'the first retry to wait', (r) => task(r, 'retried').status === 'waiting');
    expect((await h.request('POST', `/runs/${runId}/pause`)).status).toBe(202);
    const held = await runWhen(h, runId, 'the retry to be held', (r) => task(r, 'retried').held === true);
    expect(task(held, 'retried').attempts).toHaveLength(1);
    expect((await h.request('POST', `/runs/${runId}/resume`)).status).toBe(202);
    const done = await h.waitForRun(runId);
    expect(task(done, 'retried').attempts.flatMap((a: any) => (a.status === 'failed' ? [a.attempt] : []))).toEqual([1, 2]);
    expect((await h.request('POST', `/runs/${runId}/pause`)).status).toBe(409);
    expect((await h.request('POST', '/runs/nope/pause')).status).toBe(404);
  });
});
