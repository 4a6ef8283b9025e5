import { afterAll, describe, expect, it } from 'vitest';
import { attachHarness, type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';
import { sleep, until } from '../support/wait.js';

const task = (run: any, name: string) => run.tasks.find((x: any) => x.name === name);

describe('restarting the local runtime in the middle of a run', () => {
  const open: Harness[] = [];
  let target: HttpTarget | undefined;
  afterAll(async () => {
    await target?.close();
    for (const h of open) await h.stop();
  });

  it('a run waiting on a wait task finishes under a new runtime on the same table', async () => {
    const h1 = await startHarness({ BATON_LEASE_MS: '1000' });
    open.push(h1);
    const put = await h1.request('PUT', '/workflows/resume', {
      name: 'resume',
      tasks: {
        first: { type: 'noop', output: { n: 1 } },
        pause: { type: 'wait', duration: '2s', after: ['first'] },
        last: { type: 'noop', after: ['pause'], output: '${tasks.first.output.n}' },
      },
    });
    expect(put.status).toBe(201);
    const start = await h1.request('POST', '/workflows/resume/runs', {});
    const runId = start.body.runId as string;
    const waiting = await until('the wait task to suspend', async () => {
      const r = (await h1.request('GET', `/runs/${runId}`)).body;
      return task(r, 'pause').status === 'waiting' ? r : undefined;
    });
    const wakeAt = Date.parse(task(waiting, 'pause').wakeAt);

    await h1.runtime.stop();
    const stoppedAt = Date.now();
    // Nothing moves while no runtime is up.
    await sleep(Math.max(0, wakeAt - Date.now()) + 300);
    const still = (await h1.request('GET', `/runs/${runId}`)).body;
    expect(still.status).toBe('running');
    expect(task(still, 'pause').status).toBe('waiting');

    const h2 = attachHarness(h1.config);
    open.push(h2);
    expect(h2.runtime.deps.workerId).not.toBe(h1.runtime.deps.workerId);
    const run = await h2.waitForRun(runId, 20_000);
    expect(run.status).toBe('succeeded');
    const pause = task(run, 'pause');
    expect(pause.attempt).toBe(1);
    expect(pause.attempts).toHaveLength(1);
    expect(pause.attempts[0].worker).toBe(h2.runtime.deps.workerId);
    expect(Date.parse(pause.endedAt)).toBeGreaterThan(stoppedAt);
    expect(task(run, 'last').output).toBe(1);
    expect(task(run, 'last').attempts[0].worker).toBe(h2.runtime.deps.workerId);
    expect(task(run, 'first').attempts[0].worker).toBe(h1.runtime.deps.workerId);
  });

  it('a run created while no runtime was up, and an attempt that finished during shutdown, are picked up', async () => {
    target = await startHttpTarget();
    target.route('/slow', () => ({ status: 200, body: { done: true }, delayMs: 800 }));
    // Inline advance off: the stopping worker records its outcome but leaves the advance to a master,
    // which is what this test stages (with it on, the worker advances the run itself on its way out).
    const h1 = await startHarness({ BATON_LEASE_MS: '1000', BATON_INLINE_ADVANCE: '0' });
    open.push(h1);
    await h1.request('PUT', '/workflows/inflight', {
      name: 'inflight',
      tasks: {
        call: { type: 'http', url: `${target.url}/slow` },
        next: { type: 'noop', after: ['call'], output: '${tasks.call.output.done}' },
      },
    });
    const start = await h1.request('POST', '/workflows/inflight/runs', {});
    const runId = start.body.runId as string;
    await until('the request to reach the server', async () => (target?.received('/slow').length ? true : undefined));
    // Stopping waits for the attempt in flight; its outcome is recorded, but no master is left to advance the run.
    await h1.runtime.stop();
    const mid = (await h1.request('GET', `/runs/${runId}`)).body;
    expect(task(mid, 'call').status).toBe('succeeded');
    expect(task(mid, 'next').status).toBe('blocked');
    // The API still takes runs while the engine is down: created running (nothing gates their start), their
    // roots queued by the API itself (inline start), whose dispatch reaches no worker. They wait for the
    // run's due entry (its roots' claim deadline), which the next runtime's sweeper finds (reconcile.ts checkStart).
    const queued = await h1.request('POST', '/workflows/inflight/runs', {});
    expect(queued.status).toBe(201);
    await sleep(200);
    const waiting = (await h1.request('GET', `/runs/${queued.body.runId}`)).body;
    expect(waiting.status).toBe('running');
    expect(task(waiting, 'call').status).toBe('queued');

    const h2 = attachHarness(h1.config);
    open.push(h2);
    const [a, b] = await Promise.all([h2.waitForRun(runId, 20_000), h2.waitForRun(queued.body.runId, 20_000)]);
    expect(a.status).toBe('succeeded');
    expect(task(a, 'next').output).toBe(true);
    expect(task(a, 'call').attempts).toHaveLength(1);
    expect(b.status).toBe('succeeded');
    // One request per attempt, two runs: nothing was called twice.
    expect(target.received('/slow')).toHaveLength(2);
  });
});
