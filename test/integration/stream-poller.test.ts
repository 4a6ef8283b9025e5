import { afterAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * KNOWN BUG (functions/local/stream-poller.ts, not fixed here): with DynamoDB Local, a TRIM_HORIZON
 * iterator taken on a fresh, still-empty shard while other tables are being created fails its first
 * GetRecords with TrimmedDataAccessException. `StreamPoller` then retries the same iterator forever
 * ("stream poll failed; retrying" every 500 ms), so that runtime never sees a stream event again.
 * Runs then move only when the sweeper or the run watchdog finds them (seconds per step; a 1,000-task
 * chain would take hours). Fix: on TrimmedDataAccessException drop the shard's iterator so the next
 * poll takes a new one (AFTER_SEQUENCE_NUMBER of the last record handled, else TRIM_HORIZON).
 *
 * Marked `fails` so the suite stays green while the bug is there: when the poller is fixed, this
 * test starts to "fail" (its body passes); then drop `.fails`. The other integration files use
 * `startPrimedHarness`, which avoids the trigger.
 */
describe('stream poller on fresh tables created side by side', () => {
  const open: Harness[] = [];
  afterAll(async () => {
    await Promise.all(open.map((h) => h.stop()));
  });

  it.fails('every runtime receives its stream events (no sweeper or watchdog rescue)', async () => {
    // Leases and watchdog far longer than the test: only the stream can start and advance these runs.
    const env = { BATON_LEASE_MS: '120000', BATON_WATCHDOG_MS: '120000' };
    const hs = await Promise.all(Array.from({ length: 6 }, () => startHarness(env)));
    open.push(...hs);
    const results = await Promise.all(
      hs.map(async (h) => {
        await h.request('PUT', '/workflows/two', { name: 'two', tasks: { a: { type: 'noop' }, b: { type: 'noop', after: ['a'] } } });
        const s = await h.request('POST', '/workflows/two/runs', {});
        try {
          return (await h.waitForRun(s.body.runId, 20_000)).status;
        } catch {
          return 'stuck';
        }
      }),
    );
    expect(results).toEqual(hs.map(() => 'succeeded'));
  }, 60_000);
});
