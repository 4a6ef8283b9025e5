import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

/** Recover goes through the same join decision as a first run: a recovered task's `trigger` and `when` hold. */
describe('recover with join rules and conditions', { timeout: 180_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ BATON_LEASE_MS: '2000' });
  });
  afterAll(() => h.stop());

  it('a recovered all_failed branch whose upstream now succeeded is skipped; a recovered when is evaluated', async () => {
    const def = {
      name: 'recover-joins',
      params: { go: { type: 'boolean', default: false } },
      tasks: {
        a: { type: 'fail', message: 'boom' },
        onFail: { type: 'noop', after: 'a', trigger: 'all_failed', output: 'notified' },
        next: { type: 'noop', after: 'a', output: 'next' },
        gated: { type: 'noop', after: 'a', when: 'params.go', output: 'gated' },
      },
    };
    expect((await h.request('PUT', '/workflows/recover-joins', def)).status).toBe(201);
    const start = await h.request('POST', '/workflows/recover-joins/runs', {});
    const first = await h.waitForRun(start.body.runId, 90_000);
    const task = (r: any, n: string) => r.tasks.find((t: any) => t.name === n);
    expect(first.status).toBe('failed');
    expect(task(first, 'onFail')).toMatchObject({ status: 'succeeded', output: 'notified' });
    expect(task(first, 'next').status).toBe('skipped');

    // An operator marks `a` succeeded, then recovers the branches below it.
    const marked = await h.request('POST', `/runs/${start.body.runId}/tasks/a/complete`, { output: { fixed: true } });
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    const rec = await h.request('POST', `/runs/${start.body.runId}/recover`, { tasks: ['onFail', 'next', 'gated'] });
    expect(rec.status, JSON.stringify(rec.body)).toBe(202);
    const done = await h.waitForRun(start.body.runId, 90_000);
    expect(done.status).toBe('succeeded');
    // all_failed over an upstream that succeeded: skipped, not run again.
    expect(task(done, 'onFail')).toMatchObject({ status: 'skipped' });
    expect(task(done, 'onFail').attempts.filter((x: any) => x.status === 'succeeded')).toHaveLength(1);
    expect(task(done, 'next')).toMatchObject({ status: 'succeeded', output: 'next' });
    // `when` is evaluated for a recovered task too: params.go is false.
    expect(task(done, 'gated')).toMatchObject({ status: 'skipped', error: { reason: 'condition' } });
  });
});
