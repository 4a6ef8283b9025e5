/**
 * Crash-test helper (run as its own process with `npx tsx`): a whole local Baton (master, worker,
 * sweeper, scheduler) over the table in BATON_TABLE that POSTs the backfill in BATON_TEST_BACKFILL
 * with Idempotency-Key BATON_TEST_KEY, then keeps driving it. BATON_CRASH (e.g. `after:backfill:2=1`)
 * kills it halfway; if it is not armed it exits 0 once the backfill completed.
 */
import { createApp } from '../../functions/api/app.js';
import { loadConfig } from '../../functions/common/config.js';
import { LocalRuntime } from '../../functions/local/runtime.js';
import { dynamoClient } from '../../functions/store/client.js';

const runtime = new LocalRuntime({ config: loadConfig(), client: dynamoClient(), sweepIntervalMs: 200, pollIdleMs: 10 }).start();
const app = createApp(runtime.deps);
const res = await app.request(`/workflows/${process.env.BATON_TEST_WORKFLOW}/backfills`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'idempotency-key': process.env.BATON_TEST_KEY ?? 'k' },
  body: process.env.BATON_TEST_BACKFILL,
});
const body = (await res.json()) as { backfillId: string };
process.stdout.write(`${res.status} ${JSON.stringify(body)}\n`);
for (let i = 0; i < 600; i++) {
  const r = (await (await app.request(`/backfills/${body.backfillId}`)).json()) as { status: string };
  if (r.status !== 'running') break;
  await new Promise((r) => setTimeout(r, 100));
}
await runtime.stop();
process.exitCode = 0;
