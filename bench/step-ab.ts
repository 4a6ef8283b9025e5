/**
 * Interleaved A/B of one chain step, in process (no stream, no poller, no master): a 30-noop chain run by
 * one worker invocation through inline advance and eager dispatch, alternately with the old protocol
 * (`BATON_CLAIM_WINDOW_MS=0`, `BATON_ADVANCE_VIEW_MAX_AGE_MS=0`: a read after every claim) and with the
 * defaults (the claim window), 15 measured runs each after one warm-up. Alternating keeps the load of a
 * shared machine from landing on one side only. `npx tsx bench/step-ab.ts` (not part of `npm run bench`).
 */
import { createApp } from '../functions/api/app.js';
import { log } from '../functions/common/logger.js';
import type { Deps } from '../functions/orchestrator/deps.js';
import { startRun } from '../functions/orchestrator/run-start.js';
import { startWorkflow } from '../functions/orchestrator/start.js';
import { runAttempt } from '../functions/orchestrator/worker.js';
import { documentClient, dynamoClient } from '../functions/store/client.js';
import { Db } from '../functions/store/db.js';
import { lazyAwsClients } from '../functions/tasks/aws-clients.js';
import { executors } from '../functions/tasks/registry.js';
import { median, newTable, startDynamo, stopDynamo } from './lib/env.js';

const N = 30;
await startDynamo();
log.level = 'warn';
async function depsFor(env: Record<string, string>): Promise<Deps> {
  const config = await newTable({ BATON_EAGER_MAX_STEPS: '1000', ...env });
  const doc = documentClient(dynamoClient());
  return {
    db: new Db(doc, config),
    dispatch: async () => {},
    timer: async () => {},
    executors,
    aws: lazyAwsClients(),
    now: Date.now,
    log,
    workerId: 'ab',
  };
}
const modes = {
  base: await depsFor({ BATON_CLAIM_WINDOW_MS: '0', BATON_ADVANCE_VIEW_MAX_AGE_MS: '0' }),
  window: await depsFor({}),
};
const tasks: Record<string, unknown> = {};
for (let i = 1; i <= N; i++) tasks[`t${i}`] = { type: 'noop', ...(i > 1 && { after: [`t${i - 1}`] }) };
for (const d of Object.values(modes)) {
  const res = await createApp(d).request('/workflows/c', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'c', tasks }),
  });
  if (res.status > 201) throw new Error(await res.text());
}
const out = { base: [] as number[], window: [] as number[] };
const rtt: number[] = [];
for (let r = 0; r < 16; r++) {
  for (const [name, d] of Object.entries(modes)) {
    const { runId } = await startWorkflow(d, { workflow: 'c', trigger: { type: 'api' } });
    await startRun(d, runId);
    const t0 = performance.now();
    await runAttempt(d, { runId, task: 't1', attempt: 1 });
    if (r > 0) out[name as keyof typeof out].push((performance.now() - t0) / N);
  }
  const d = modes.base;
  const t = performance.now();
  await d.db.update({ pk: 'RTT#x', sk: `r${r}` }, { set: { v: r } }, { expr: 'attribute_not_exists(#p)', names: { '#p': 'pk' } });
  rtt.push(performance.now() - t);
}
const m = (xs: number[]) => median(xs).toFixed(1);
console.log(`per step ms, median of 15 interleaved 30-step chains: base ${m(out.base)} [${out.base.map((x) => x.toFixed(1)).join(' ')}]`);
console.log(`window ${m(out.window)} [${out.window.map((x) => x.toFixed(1)).join(' ')}]`);
console.log(`cond write RTT p50 ${m(rtt)} ms`);
await stopDynamo();
process.exit(0);
