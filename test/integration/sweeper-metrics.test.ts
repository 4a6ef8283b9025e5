import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { emfCounters } from '../../functions/common/metrics.js';
import { sweep } from '../../functions/orchestrator/sweeper.js';
import type { TaskItem } from '../../functions/store/items.js';
import { claim, queueNew } from '../../functions/store/tasks.js';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * The sweeper counts reclaimed leases as a CloudWatch metric in Embedded Metric Format: one JSON
 * line on stdout, which Lambda turns into the metric the LeasesReclaimed alarm reads. Logs are
 * silent here (as `logLevel: 'warn'` would make the `sweep` info line): the metric does not depend on them.
 */
describe('sweeper metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, { roles: { sweeper: false, worker: false } });
  });
  afterAll(() => h.stop());
  afterEach(() => vi.restoreAllMocks());

  /** The EMF documents written to stdout while `fn` runs. */
  async function emitted(fn: () => Promise<unknown>): Promise<Record<string, any>[]> {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any, ...rest: any[]) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) {
        lines.push(...text.split('\n').filter(Boolean));
        return true;
      }
      return write(chunk, ...rest);
    });
    await fn();
    return lines.map((l) => JSON.parse(l));
  }

  it('emits LeasesReclaimed on every sweep: 0 while a lease is live, 1 when it reclaims one', async () => {
    // The sweeps read the clock they are given: one before the lease's expiry, one after, no sleeping.
    let now = Date.now();
    const deps = { ...h.runtime.deps, now: () => now, metrics: emfCounters('BatonTest') };
    const runId = `rmetric${now}`;
    await queueNew(deps.db, runId, 'work', now);
    const zombie = (await claim(deps.db, runId, 'work', 1, 'zombie', now)) as TaskItem;

    const live = await emitted(() => sweep(deps));
    expect(live.map((d) => d.LeasesReclaimed)).toEqual([0]);

    now = (zombie.dueAt ?? 0) + 1;
    let report: Awaited<ReturnType<typeof sweep>> | undefined;
    const docs = await emitted(async () => {
      report = await sweep(deps);
    });
    expect(report?.reclaimed).toBe(1);
    expect(docs).toHaveLength(1);
    const doc = docs[0] as Record<string, any>;
    expect(doc.LeasesReclaimed).toBe(1);
    expect(doc.service).toBe('baton');
    expect(doc._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'BatonTest', Dimensions: [['service']], Metrics: [{ Name: 'LeasesReclaimed', Unit: 'Count' }] },
    ]);
  });

  it('emits nothing where no counters are wired (the local runtime)', async () => {
    expect(await emitted(() => sweep(h.runtime.deps))).toEqual([]);
  });
});
