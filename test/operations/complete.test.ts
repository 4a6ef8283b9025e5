import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { runWhen, task } from './support.js';

describe('mark success', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.request('PUT', '/workflows/marks', {
      name: 'marks',
      tasks: {
        a: { type: 'noop', output: { n: 1 } },
        b: { type: 'fail', message: 'broken', retryable: false, after: ['a'] },
        c: { type: 'noop', after: ['b'], output: { saw: '${tasks.b.output.v}' } },
      },
    });
    await h.request('PUT', '/workflows/sleepy', {
      name: 'sleepy',
      tasks: { nap: { type: 'wait', duration: '1h' }, after: { type: 'noop', after: ['nap'], output: '${tasks.nap.output.by}' } },
    });
  });
  afterAll(() => h.stop());

  it('on a failed task of a failed run, then recover: downstream sees the given output', async () => {
    const runId = (await h.request('POST', '/workflows/marks/runs', {})).body.runId as string;
    expect((await h.waitForRun(runId)).status).toBe('failed');

    expect((await h.request('POST', `/runs/${runId}/tasks/b/complete`, {})).status).toBe(400);
    expect((await h.request('POST', `/runs/${runId}/tasks/b/complete`, { output: 1, extra: 2 })).status).toBe(400);
    expect((await h.request('POST', `/runs/${runId}/tasks/zz/complete`, { output: 1 })).status).toBe(404);
    const onSucceeded = await h.request('POST', `/runs/${runId}/tasks/a/complete`, { output: 1 });
    expect(onSucceeded.status).toBe(409);

    const before = (await h.request('GET', `/runs/${runId}`)).body;
    expect(before.actions).toEqual(['recover', 'rerun']);
    expect(before.tasks.map((t: any) => t.actions)).toEqual([[], ['complete'], []]);
    const marked = await h.request('POST', `/runs/${runId}/tasks/b/complete`, { output: { v: 42 } });
    expect(marked.status).toBe(200);
    expect(marked.body).toMatchObject({ status: 'succeeded', output: { v: 42 } });
    expect((await h.request('GET', `/runs/${runId}`)).body.status).toBe('failed');

    expect((await h.request('POST', `/runs/${runId}/recover`)).status).toBe(202);
    const run = await h.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(task(run, 'c').output).toEqual({ saw: 42 });
    expect(task(run, 'a').attempts).toHaveLength(1);
    expect(task(run, 'b').attempts.map((x: any) => [x.attempt, x.status, x.marked ?? false])).toEqual([
      [1, 'failed', false],
      [2, 'succeeded', true],
    ]);
  });

  it('on a waiting task of a running run: downstream proceeds at once', async () => {
    const runId = (await h.request('POST', '/workflows/sleepy/runs', {})).body.runId as string;
    await runWhen(h, runId, 'the wait', (r) => task(r, 'nap').status === 'waiting');
    expect((await h.request('POST', `/runs/${runId}/tasks/nap/complete`, { output: { by: 'hand' } })).status).toBe(200);
    const run = await h.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ after: 'hand' });
  });
});
