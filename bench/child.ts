/**
 * One Baton runtime as its own OS process, for the throughput and failover benches. Configured by
 * the environment (BATON_TABLE, BATON_LEASE_MS, BATON_SWEEP_INTERVAL_MS, AWS_ENDPOINT_URL_DYNAMODB,
 * BENCH_POLL_IDLE_MS, BENCH_ROLES as JSON, BENCH_SHARE=0 to race instead of sharing work); driven over the IPC channel: `stats`, `reset`, `stop`.
 */
import './lib/quiet.js';
import { loadConfig } from '../functions/common/config.js';
import { Engine } from './lib/engine.js';

const poll = process.env.BENCH_POLL_IDLE_MS ? Number(process.env.BENCH_POLL_IDLE_MS) : undefined;
const roles = process.env.BENCH_ROLES ? JSON.parse(process.env.BENCH_ROLES) : undefined;
const engine = new Engine(loadConfig(), { pollIdleMs: poll, roles, share: process.env.BENCH_SHARE !== '0' });
await engine.runtime.ready();

process.on('message', async (m: { type: string }) => {
  if (m.type === 'stats') process.send?.({ type: 'stats', snapshot: engine.meter.snapshot(), workerId: engine.runtime.deps.workerId });
  if (m.type === 'reset') {
    engine.meter.reset();
    process.send?.({ type: 'reset' });
  }
  if (m.type === 'stop') {
    await engine.stop();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid, workerId: engine.runtime.deps.workerId });
