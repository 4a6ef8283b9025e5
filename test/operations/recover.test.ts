import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';
import { task } from './support.js';

describe('recover', () => {
  let h: Harness;
  let target: HttpTarget;
  beforeAll(async () => {
    h = await startHarness();
    target = await startHttpTarget();
    await h.request('PUT', '/workflows/chain', {
      name: 'chain',
      tasks: {
        first: { type: 'noop', output: { n: 1 } },
        middle: { type: 'http', method: 'POST', url: `${target.url}/middle`, after: ['first'] },
        last: { type: 'noop', after: ['middle'], output: { got: '${tasks.middle.output.ok}' } },
      },
    });
  });
  afterAll(async () => {
    await h.stop();
    await target.close();
  });

  it('re-runs the failed task and what follows it, under the same run id, once the target is fixed', async () => {
    target.route('/middle', () => ({ status: 500, body: { broken: true } }));
    const runId = (await h.request('POST', '/workflows/chain/runs', {})).body.runId as string;
    const failed = await h.waitForRun(runId);
    expect(failed.status).toBe('failed');
    expect(task(failed, 'last').status).toBe('skipped');

    target.route('/middle', () => ({ status: 200, body: { ok: 'fixed' } }));
    const res = await h.request('POST', `/runs/${runId}/recover`, undefined, { 'Idempotency-Key': 'fix-1' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ runId, status: 'running', recoveries: 1, tasks: ['middle', 'last'] });
    // The same request again is a no-op; another recover while it runs is a conflict.
    const again = await h.request('POST', `/runs/${runId}/recover`, undefined, { 'Idempotency-Key': 'fix-1' });
    expect(again.status).toBe(202);
    expect(again.body.recoveries).toBe(1);
    expect((await h.request('POST', `/runs/${runId}/recover`)).status).toBe(409);

    const run = await h.waitForRun(runId);
    expect(run.runId).toBe(runId);
    expect(run.status).toBe('succeeded');
    expect(run.recoveries).toBe(1);
    expect(task(run, 'first').attempts.map((a: any) => a.attempt)).toEqual([1]);
    expect(task(run, 'middle').attempts.map((a: any) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(task(run, 'last').attempts.map((a: any) => [a.attempt, a.status])).toEqual([[1, 'succeeded']]);
    expect(task(run, 'last').output).toEqual({ got: 'fixed' });
    expect(target.received('/middle')).toHaveLength(2);
    expect(run.output).toEqual({ last: { got: 'fixed' } });
  });

  it('two concurrent recovers: one 202, one 409', async () => {
    target.route('/middle', () => ({ status: 500 }));
    const runId = (await h.request('POST', '/workflows/chain/runs', {})).body.runId as string;
    expect((await h.waitForRun(runId)).status).toBe('failed');
    const both = await Promise.all([h.request('POST', `/runs/${runId}/recover`), h.request('POST', `/runs/${runId}/recover`)]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const run = await h.waitForRun(runId);
    expect(run.recoveries).toBe(1);
    expect(task(run, 'middle').attempts).toHaveLength(2);
  });

  it('a succeeded run only with named tasks; those and their downstream run again, upstream does not', async () => {
    target.route('/middle', () => ({ status: 200, body: { ok: 'one' } }));
    const runId = (await h.request('POST', '/workflows/chain/runs', {})).body.runId as string;
    expect((await h.waitForRun(runId)).status).toBe('succeeded');
    const refused = await h.request('POST', `/runs/${runId}/recover`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('run_not_recoverable');
    const bad = await h.request('POST', `/runs/${runId}/recover`, { tasks: ['nope'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('tasks[0]');
    expect((await h.request('POST', `/runs/${runId}/recover`, { tasks: 'middle' })).status).toBe(400);

    target.route('/middle', () => ({ status: 200, body: { ok: 'two' } }));
    expect((await h.request('POST', `/runs/${runId}/recover`, { tasks: ['middle'] })).status).toBe(202);
    const run = await h.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(task(run, 'first').attempts).toHaveLength(1);
    expect(task(run, 'middle').attempts.map((a: any) => a.attempt)).toEqual([1, 2]);
    expect(task(run, 'last').attempts.map((a: any) => a.attempt)).toEqual([1, 2]);
    expect(task(run, 'last').output).toEqual({ got: 'two' });
    expect((await h.request('POST', '/runs/nope/recover')).status).toBe(404);
  });

  it('rerun starts a new run of the same version and params', async () => {
    const runId = (await h.request('POST', '/workflows/chain/runs', {})).body.runId as string;
    await h.waitForRun(runId);
    const res = await h.request('POST', `/runs/${runId}/rerun`);
    expect(res.status).toBe(201);
    expect(res.body.runId).not.toBe(runId);
    const again = await h.waitForRun(res.body.runId);
    expect(again.trigger).toEqual({ type: 'rerun', of: runId });
    expect(again.version).toBe(1);
    expect((await h.request('POST', '/runs/nope/rerun')).status).toBe(404);
  });
});
