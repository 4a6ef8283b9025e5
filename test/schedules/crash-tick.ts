/**
 * Crash-test helper (run as its own process with `npx tsx`): one scheduler tick against the table in
 * BATON_TABLE at the instant BATON_TEST_NOW, with BATON_CRASH armed by the test. Exits 0 if it lives.
 */
import { loadConfig } from '../../functions/common/config.js';
import { defaultDeps } from '../../functions/orchestrator/deps.js';
import { schedulerTick } from '../../functions/orchestrator/scheduler.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';

const now = Number(process.env.BATON_TEST_NOW);
const deps = defaultDeps({
  db: new Db(documentClient(dynamoClient()), loadConfig()),
  dispatch: async () => {},
  timer: async () => {},
  now: () => now,
});
const report = await schedulerTick(deps);
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exitCode = 0;
