import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { loadConfig } from '../common/config.js';
import { type Logger, log } from '../common/logger.js';
import type { Deps, Job } from '../orchestrator/deps.js';
import { type ChangeRecord, onChange } from '../orchestrator/stream.js';
import { runAttempt } from '../orchestrator/worker.js';
import { clientDefaults, dynamoClient } from '../store/client.js';
import { httpDispatch, startWorkerServer, type WorkerServer } from './http-invoker.js';
import { Invoker } from './invoker.js';
import { LocalRuntime } from './runtime.js';

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
 * BATON_POLL_IDLE_MS, BATON_WORKER_CONCURRENCY. Once it runs, it logs one `process ready` line with
 * its pid, roles, worker id and worker URL.
 *
 * BATON_STANDBY=1 starts a warm spare: everything is loaded, then it waits for SIGUSR2 before it
 * connects, listens and logs `process ready` (crash tests use spares so that a restart is quick).
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
    roles: { master: roles.master && !checkpoint, sweeper: roles.sweeper, worker: false },
    sweepIntervalMs: Number(env.BATON_SWEEP_INTERVAL_MS ?? 1000),
    pollIdleMs: Number(env.BATON_POLL_IDLE_MS ?? 50),
    deps: { dispatch },
  }).start();
  const rt = runtime;
  const poller =
    roles.master && checkpoint
      ? pollStream({ client, table: config.table, file: checkpoint, log, idleMs: Number(env.BATON_POLL_IDLE_MS ?? 50), deps: rt.deps })
      : undefined;
  log.info(
    { pid: process.pid, roles: [...names], workerId: runtime.deps.workerId, workerUrl: server?.url, table: config.table },
    'process ready',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server?.close();
    await Promise.all([runtime?.stop(), invoker.close(), poller?.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * A stream poller with a checkpoint file (per shard: the last sequence number of a finished batch).
 * Batches are handled like the event source mapping does: concurrently within the batch, retried
 * until they succeed.
 */
function pollStream(opts: { client: DynamoDBClient; table: string; file: string; log: Logger; idleMs: number; deps: Deps }) {
  const streams = new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  const positions: Record<string, string> = existsSync(opts.file) ? JSON.parse(readFileSync(opts.file, 'utf8')) : {};
  const shards = new Map<string, { iterator?: string; done: boolean }>();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let running = true;
  let arn: string | undefined;
  let described = 0;
  const save = () => {
    writeFileSync(`${opts.file}.tmp`, JSON.stringify(positions));
    renameSync(`${opts.file}.tmp`, opts.file);
  };
  // Records of a batch are independent transitions: handle them concurrently, at most 64 at a time
  // (a pool, not slices, so that one slow record does not hold back the next 63).
  const handle = async (records: _Record[]) => {
    const started = Date.now();
    let next = 0;
    let failed: unknown;
    const lane = async () => {
      while (next < records.length) {
        const r = records[next++] as _Record;
        try {
          await onChange(opts.deps, r as ChangeRecord);
        } catch (err) {
          failed ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, records.length) }, lane));
    if (failed !== undefined) throw failed;
    const ms = Date.now() - started;
    if (ms > 2000) opts.log.info({ records: records.length, ms }, 'slow stream batch');
  };
  const discover = async () => {
    if (arn && Date.now() - described < 1000) return;
    described = Date.now();
    arn ??= (await opts.client.send(new DescribeTableCommand({ TableName: opts.table }))).Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${opts.table} has no stream`);
    let start: string | undefined;
    do {
      const d = await streams.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }));
      for (const sh of d.StreamDescription?.Shards ?? [])
        if (sh.ShardId && !shards.has(sh.ShardId)) shards.set(sh.ShardId, { done: false });
      start = d.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  };
  const poll = async (id: string, s: { iterator?: string; done: boolean }) => {
    if (!s.iterator) {
      const after = positions[id];
      const it = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: id,
          ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      s.iterator = it.ShardIterator;
      if (!s.iterator) {
        s.done = true;
        return 0;
      }
    }
    let r: GetRecordsCommandOutput;
    try {
      r = await streams.send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: 1000 }));
    } catch (err) {
      if (err instanceof ExpiredIteratorException) s.iterator = undefined;
      else if (err instanceof TrimmedDataAccessException) {
        delete positions[id];
        s.iterator = undefined;
      } else throw err;
      return 0;
    }
    const records = r.Records ?? [];
    if (records.length > 0) {
      // Like the event source mapping: the same batch is retried until the handler succeeds.
      for (let attempt = 1; ; attempt++) {
        try {
          await handle(records);
          break;
        } catch (err) {
          opts.log.error({ err: String(err), attempt, shardId: id }, 'stream batch failed; retrying');
          if (!running) return records.length;
          await sleep(Math.min(5000, 100 * 2 ** attempt));
        }
      }
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last) {
        positions[id] = last;
        save();
      }
    }
    s.iterator = r.NextShardIterator;
    if (!s.iterator) s.done = true;
    return records.length;
  };
  const loop = (async () => {
    while (running) {
      let got = 0;
      try {
        await discover();
        for (const [id, s] of shards) if (!s.done) got += await poll(id, s);
      } catch (err) {
        opts.log.warn({ err: String(err) }, 'stream poll failed; retrying');
        await sleep(500);
      }
      if (got === 0) await sleep(opts.idleMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

main().catch((err) => {
  log.fatal({ err: String(err), stack: (err as Error).stack }, 'process failed to start');
  process.exit(1);
});
