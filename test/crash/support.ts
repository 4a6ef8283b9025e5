import { randomBytes } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach } from 'vitest';
import { createApp } from '../../functions/api/app.js';
import { type BatonConfig, loadConfig } from '../../functions/common/config.js';
import { log } from '../../functions/common/logger.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';
import { TERMINAL_RUN } from '../../functions/store/items.js';
import { ensureTable } from '../../functions/store/table.js';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import { executors } from '../../functions/tasks/registry.js';
import { useDynamo } from '../support/harness.js';
import { sleep, until } from '../support/wait.js';
import type { Item } from './invariants.js';
import { Cluster, entry } from './processes.js';

/**
 * Support for crash tests with real OS processes (`processes.ts`) over a fresh table of the suite's
 * DynamoDB Local: `startCluster` sets one up, `stopClusters` tears it down; the test itself talks to
 * the table through `api` and checks it with `checkInvariants` (`invariants.ts`).
 */

export { checkInvariants, type InvariantReport, type Item } from './invariants.js';
export { Cluster, type Exit, entry, Proc, type Ready } from './processes.js';

/** Points this test process at the suite's DynamoDB Local and makes a fresh table. */
export async function freshTable(prefix = 'crash'): Promise<{ endpoint: string; table: string }> {
  const endpoint = useDynamo();
  const table = `${prefix}${randomBytes(5).toString('hex')}`;
  await ensureTable(dynamoClient(), table);
  return { endpoint, table };
}

/**
 * Deps for the test process itself: it only submits runs and reads the table; it dispatches nothing, so
 * it starts no run inline (`BATON_INLINE_START`): the cluster's masters start them from the stream, as
 * these tests expect (`inline-start.test.ts` covers the inline start and its repair).
 */
export function testDeps(config: BatonConfig): Deps {
  return {
    db: new Db(documentClient(dynamoClient()), { ...config, inlineStart: false }),
    dispatch: async () => {},
    timer: async () => {},
    executors,
    aws: lazyAwsClients(),
    now: Date.now,
    log,
    workerId: 'test',
  };
}

export interface Api {
  readonly deps: Deps;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  put(def: Record<string, unknown>): Promise<void>;
  start(workflow: string, params?: unknown): Promise<string>;
}

export function api(config: BatonConfig): Api {
  const deps = testDeps(config);
  const app = createApp(deps);
  const request: Api['request'] = async (method, path, body) => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    deps,
    request,
    async put(def) {
      const r = await request('PUT', `/workflows/${def.name}`, def);
      if (r.status !== 201 && r.status !== 200) throw new Error(`PUT ${def.name}: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async start(workflow, params) {
      const r = await request('POST', `/workflows/${workflow}/runs`, params === undefined ? {} : { params });
      if (r.status !== 201) throw new Error(`start ${workflow}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.runId as string;
    },
  };
}

/** The common environment of crash-test processes: short leases so that failover happens in seconds. */
export function clusterEnv(endpoint: string, table: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    BATON_TABLE: table,
    BATON_LEASE_MS: '1500',
    BATON_HEARTBEAT_MS: '400',
    BATON_SWEEP_INTERVAL_MS: '300',
    BATON_WATCHDOG_MS: '3000',
    BATON_RECHECK_MS: '3000',
    BATON_POLL_IDLE_MS: '20',
    BATON_DISPATCH_TIMEOUT_MS: '2000',
    ...over,
  };
}

export function configFor(table: string, env: Record<string, string>): BatonConfig {
  return loadConfig({ ...env, BATON_TABLE: table });
}
// ---- a cluster per test or per file ------------------------------------------------------------

/** What `startCluster` sets up. */
export interface StartedCluster {
  readonly endpoint: string;
  readonly table: string;
  /** The environment every process of the cluster gets (`clusterEnv` with the overrides). */
  readonly env: Record<string, string>;
  /** No process yet: add slots with `cluster.add(name, roles)` and start them. */
  readonly cluster: Cluster;
  /** The test's own client of the table: it submits runs and reads them, and dispatches nothing. */
  readonly api: Api;
}

const started = new Set<Cluster>();

/**
 * A fresh table (named `prefix…`), the crash-test environment over it with `over` on top, an empty
 * cluster and the test's API client. The process bundle is built before it returns, so that the first
 * start is not the one that pays for esbuild. Pair it with `stopClusters()` in the same file.
 */
export async function startCluster(over: Record<string, string> = {}, prefix = 'crash'): Promise<StartedCluster> {
  const { endpoint, table } = await freshTable(prefix);
  const env = clusterEnv(endpoint, table, over);
  const cluster = new Cluster(table, env);
  started.add(cluster);
  await entry();
  return { endpoint, table, env, cluster, api: api(configFor(table, env)) };
}

/**
 * Registers the hooks that stop every cluster `startCluster` made: after each test (`'each'`), or once
 * after the tests of the enclosing suite (`'all'`, for a cluster shared by a file). The logs of a
 * cluster are kept (and their path printed) when a test that used it failed, or with CRASH_KEEP=1.
 */
export function stopClusters(after: 'each' | 'all' = 'each'): void {
  let failed = false;
  const stop = async () => {
    const clusters = [...started];
    started.clear();
    await Promise.all(
      clusters.map((c) => {
        c.keep ||= failed;
        return c.stopAll();
      }),
    );
    failed = false;
  };
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') failed = true;
    if (after === 'each') await stop();
  });
  if (after === 'all') afterAll(stop);
}

// ---- the table -------------------------------------------------------------------------------

/** Every item of the table (a scan is fine in a test). */
export async function scanTable(deps: Deps): Promise<Item[]> {
  const out: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await deps.db.doc.send(new ScanCommand({ TableName: deps.db.table, ConsistentRead: true, ExclusiveStartKey: start }));
    out.push(...((r.Items ?? []) as Item[]));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/** The run statuses that end a run: the store's own list, so a skipped run is not waited for forever. */
export const TERMINAL = TERMINAL_RUN;

export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> =>
  until(what, fn, timeoutMs, everyMs);

export { sleep };

/** Parses JSON log lines of a process log file. */
export function parseLog(text: string): Item[] {
  const out: Item[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
