import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunItem } from '../../functions/store/items.js';
import { getRun } from '../../functions/store/runs.js';
import { addDoneDep, getTask } from '../../functions/store/tasks.js';
import { type Harness, startHarness } from '../support/harness.js';
import { until } from '../support/wait.js';

/**
 * The run watchdog (reconcile) is what finishes a run whose stream events were lost. Here no master
 * runs at all (no stream poller), and the test decides when the sweeper runs: every step past the
 * workers is the watchdog's.
 */
describe('the run watchdog re-drives runs whose events were lost', () => {
  let h: Harness;
  beforeAll(async () => {
    // Workers leave every advance to the master (none runs), as before inline advance: every lost event is the watchdog's.
    h = await startHarness(
      { BATON_LEASE_MS: '500', BATON_WATCHDOG_MS: '300', BATON_INLINE_ADVANCE: '0' },
      { roles: { master: false, worker: true, sweeper: false } },
    );
  });
  afterAll(() => h.stop());

  it('finishes a run when a master recorded every dependency of a join and died before promoting it', async () => {
    const db = h.runtime.deps.db;
    const put = await h.request('PUT', '/workflows/lost-promote', {
      name: 'lost-promote',
      tasks: { a: { type: 'noop' }, b: { type: 'noop' }, join: { type: 'noop', after: ['a', 'b'], output: 'joined' } },
    });
    expect(put.status).toBe(201);
    const start = await h.request('POST', '/workflows/lost-promote/runs', {});
    const runId = start.body.runId as string;

    // No stream: the sweeper starts the run once its start is overdue (created running, the watchdog,
    // shorter than the lease here, queues its roots: reconcile.ts). It sweeps only until then: a later
    // sweep would let the watchdog finish the run before the lost promotion below is staged.
    await until(
      'the sweeper to start the run, and a and b to succeed',
      async () => {
        const [a, b] = await Promise.all([getTask(db, runId, 'a'), getTask(db, runId, 'b')]);
        if ((await getRun(db, runId))?.status === 'queued' || !a || !b) await h.runtime.sweepNow();
        return a?.status === 'succeeded' && b?.status === 'succeeded';
      },
      15_000,
      100,
    );
    // The master that handled a's and b's events recorded both on join, then died before promoting it.
    await addDoneDep(db, runId, 'join', 'a');
    await addDoneDep(db, runId, 'join', 'b');
    expect((await getTask(db, runId, 'join'))?.status).toBe('blocked');

    // Each sweep after the watchdog period re-drives what is missing.
    const run = await until(
      'the watchdog to finish the run',
      async () => {
        await h.runtime.sweepNow();
        const r = await getRun(db, runId);
        return r && ['succeeded', 'failed'].includes(r.status) ? (r as RunItem) : undefined;
      },
      15_000,
      100,
    );
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ join: 'joined' });
    const join = await getTask(db, runId, 'join');
    expect(join?.attempts?.map((x) => x.status)).toEqual(['succeeded']);
  });

  it('skips a join whose other dependency failed, once every dependency has ended', async () => {
    const db = h.runtime.deps.db;
    await h.request('PUT', '/workflows/lost-skip', {
      name: 'lost-skip',
      failureStrategy: 'continue',
      tasks: {
        bad: { type: 'fail', message: 'no' },
        good: { type: 'noop' },
        join: { type: 'noop', after: ['bad', 'good'] },
        other: { type: 'noop', after: ['good'] },
      },
    });
    const start = await h.request('POST', '/workflows/lost-skip/runs', {});
    const runId = start.body.runId as string;
    const run = await until(
      'the watchdog to finish the run',
      async () => {
        await h.runtime.sweepNow();
        const r = await getRun(db, runId);
        return r && ['succeeded', 'failed'].includes(r.status) ? (r as RunItem) : undefined;
      },
      20_000,
      100,
    );
    expect(run.status).toBe('failed');
    expect(run.failure).toMatchObject({ task: 'bad', reason: 'fail' });
    expect((await getTask(db, runId, 'join'))?.status).toBe('skipped');
    expect((await getTask(db, runId, 'other'))?.status).toBe('succeeded');
  });
});
