import { parseArgs } from 'node:util';
import { loadConfig } from '../common/config.js';
import { log } from '../common/logger.js';
import type { Job } from '../orchestrator/deps.js';
import { runAttempt } from '../orchestrator/worker.js';
import { dynamoClient } from '../store/client.js';
import { httpDispatch, startWorkerServer, type WorkerServer } from './http-invoker.js';
import { Invoker } from './invoker.js';
import { envFlag, LocalRuntime } from './runtime.js';

/**
 * One OS process of a multi-process local deployment, for crash tests: it plays the roles it is given
 * (`master`: polls the table's stream; `worker`: accepts attempts by HTTP; `sweeper`: sweeps and keeps
 * timers) against an existing DynamoDB endpoint and table. Attempts are dispatched across processes
 * by HTTP to the workers in `BATON_WORKER_URLS` (see http-invoker.ts).
 *
 *   AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 BATON_TABLE=baton \
 *   BATON_ROLES=master,sweeper BATON_WORKER_URLS=http://127.0.0.1:7001,http://127.0.0.1:7002 \
 *     npx tsx functions/local/process-main.ts
 *
 * Options (flag or environment): `--roles` / BATON_ROLES (default all three), `--port` /
 * BATON_WORKER_PORT (the worker's listening port, default any free one), BATON_WORKER_URLS,
 * BATON_DISPATCH_ORDER (`random` or `ordered`), BATON_DISPATCH_TIMEOUT_MS, BATON_SWEEP_INTERVAL_MS,
 * BATON_POLL_IDLE_MS, BATON_POLL_MAX_IDLE_MS, BATON_WORKER_CONCURRENCY. Once it runs, it logs one `process ready` line with
 * its pid, roles, worker id and worker URL.
 *
 * BATON_STANDBY=1 starts a warm spare: everything is loaded, then it waits for SIGUSR2 before it
 * connects, listens and logs `process ready` (crash tests use spares so that a restart is quick).
 *
 * BATON_SHARE_WORK=1 makes the process a work-sharing member (see work-share.ts) instead of a racer:
 * it needs the master and worker roles, handles only the stream records it owns and posts other
 * members' jobs to them (BATON_WORKER_URLS and BATON_WORKER_PORT are then unused). Off by default
 * here: the crash tests race masters on purpose.
 *
 * BATON_STREAM_CHECKPOINT names a file where the master keeps its position in the stream, like the
 * Lambda event source mapping does: a restarted master resumes after the last batch it finished
 * (the batch in flight when it died is delivered again) instead of replaying the whole stream.
 */
async function main() {
  if (process.env.BATON_STANDBY === '1') {
    // A warm spare (like a warm Lambda container): loaded, but idle until SIGUSR2 says go.
    await new Promise<void>((go) => {
      const idle = setInterval(() => {}, 60_000); // keeps the event loop alive while it waits
      process.once('SIGUSR2', () => {
        clearInterval(idle);
        go();
      });
      log.info({ pid: process.pid }, 'process standby');
    });
  }
  const { values } = parseArgs({
    options: {
      roles: { type: 'string', default: process.env.BATON_ROLES ?? 'master,worker,sweeper' },
      port: { type: 'string', default: process.env.BATON_WORKER_PORT ?? '0' },
    },
  });
  const names = new Set(
    values.roles
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  );
  for (const n of names) if (!['master', 'worker', 'sweeper'].includes(n)) throw new Error(`unknown role ${n}`);
  const roles = { master: names.has('master'), worker: names.has('worker'), sweeper: names.has('sweeper') };
  if (!process.env.AWS_ENDPOINT_URL_DYNAMODB) throw new Error('AWS_ENDPOINT_URL_DYNAMODB must name the DynamoDB endpoint');

  const config = loadConfig();
  const env = process.env;
  if (envFlag(env.BATON_SHARE_WORK, false)) {
    if (!roles.master || !roles.worker) throw new Error('BATON_SHARE_WORK needs the master and worker roles');
    return shareWork(config, roles.sweeper, [...names]);
  }
  let runtime: LocalRuntime | undefined;
  let server: WorkerServer | undefined;
  const invoker = new Invoker<Job>(
    (job) => (runtime ? runAttempt(runtime.deps, job) : Promise.resolve()),
    log,
    Number(env.BATON_WORKER_CONCURRENCY ?? 32),
  );
  if (roles.worker) {
    server = await startWorkerServer({ port: Number(values.port), accept: (job) => void invoker.invoke(job), log });
  }
  const urls = (env.BATON_WORKER_URLS ?? '').split(',').filter(Boolean);
  const dispatch =
    urls.length > 0
      ? httpDispatch({
          urls,
          log,
          order: env.BATON_DISPATCH_ORDER === 'ordered' ? 'ordered' : 'random',
          timeoutMs: Number(env.BATON_DISPATCH_TIMEOUT_MS ?? 1000),
        })
      : (job: Job) => invoker.invoke(job);
  const client = dynamoClient();
  const checkpoint = env.BATON_STREAM_CHECKPOINT;
  runtime = new LocalRuntime({
    config,
    client,
    roles: { master: roles.master, sweeper: roles.sweeper, worker: false },
    streamCheckpoint: checkpoint,
    sweepIntervalMs: Number(env.BATON_SWEEP_INTERVAL_MS ?? 1000),
    pollIdleMs: Number(env.BATON_POLL_IDLE_MS ?? 50),
    deps: { dispatch },
  }).start();
  log.info(
    { pid: process.pid, roles: [...names], workerId: runtime.deps.workerId, workerUrl: server?.url, table: config.table },
    'process ready',
  );

  onSignals(async () => {
    await server?.close();
    await Promise.all([runtime?.stop(), invoker.close()]);
  });
}

/** A work-sharing member: one runtime with its own worker endpoint, found by the others through the table. */
async function shareWork(config: ReturnType<typeof loadConfig>, sweeper: boolean, names: string[]) {
  const env = process.env;
  const runtime = new LocalRuntime({
    config,
    client: dynamoClient(),
    roles: { master: true, worker: true, sweeper },
    share: true,
    streamCheckpoint: env.BATON_STREAM_CHECKPOINT,
    sweepIntervalMs: Number(env.BATON_SWEEP_INTERVAL_MS ?? 1000),
    pollIdleMs: Number(env.BATON_POLL_IDLE_MS ?? 50),
    concurrency: Number(env.BATON_WORKER_CONCURRENCY ?? 32),
  }).start();
  await runtime.ready();
  log.info(
    { pid: process.pid, roles: names, workerId: runtime.deps.workerId, workerUrl: runtime.workerUrl, table: config.table, shared: true },
    'process ready',
  );
  onSignals(() => runtime.stop());
}

/** On SIGINT or SIGTERM (the first one only): log it, run `stop`, exit 0. */
function onSignals(stop: () => Promise<unknown>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  log.fatal({ err }, 'process failed to start');
  process.exit(1);
});
