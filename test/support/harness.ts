import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createApp } from '../../functions/api/app.js';
import { type BatonConfig, loadConfig } from '../../functions/common/config.js';
import { LocalRuntime, type RuntimeOptions } from '../../functions/local/runtime.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { TERMINAL_RUN } from '../../functions/store/items.js';
import { ensureTable } from '../../functions/store/table.js';

/**
 * The suite's DynamoDB Local for this test file: the instance its setup leased from the pool
 * (`dynamo-lease.ts`), or the endpoint `AWS_ENDPOINT_URL_DYNAMODB` named for the whole run.
 */
export function useDynamo(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint) throw new Error('no DynamoDB endpoint: this file took no lease from the suite pool (test/support/dynamo-lease.ts)');
  return endpoint;
}

export interface Harness {
  readonly runtime: LocalRuntime;
  readonly config: BatonConfig;
  readonly app: ReturnType<typeof createApp>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  waitForRun(runId: string, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

/**
 * Run retention for an engine on a test's hand-moved clock. DynamoDB Local removes items whose TTL
 * attribute (`expiresAt`) is behind the *real* clock, in the background and at times of its own (a lone
 * expired item in a fresh instance stayed for 150 s): a finished run stamped from a clock set months back
 * vanished in the middle of guard tests (a run read came back empty while its tasks were there).
 * Retention counts from the engine's clock, so it is lengthened by how far that clock is behind the real one.
 */
export function retentionFor(clockNow: number): Record<string, string> {
  const behindDays = Math.max(0, Math.ceil((Date.now() - clockNow) / 86_400_000));
  return { BATON_RUN_RETENTION_DAYS: String(90 + behindDays) };
}

/** A fresh table and a local runtime over it, with short leases so that failover tests run fast. */
export async function startHarness(env: Record<string, string> = {}, opts: RuntimeOptions = {}): Promise<Harness> {
  useDynamo();
  const table = `t${randomBytes(6).toString('hex')}`;
  const config = loadConfig({ BATON_TABLE: table, BATON_LEASE_MS: '3000', BATON_WATCHDOG_MS: '5000', ...env });
  await ensureTable(dynamoClient(), table);
  return attachHarness(config, opts);
}

/**
 * A harness over an existing table: a brand-new LocalRuntime (new worker id, new stream poller that
 * starts from the trim horizon, new in-process timers), as after a restart of `npm start`. To restart,
 * stop the old runtime first (`h.runtime.stop()`).
 */
export function attachHarness(config: BatonConfig, opts: RuntimeOptions = {}): Harness {
  useDynamo();
  const runtime = new LocalRuntime({ config, client: dynamoClient(), sweepIntervalMs: 200, pollIdleMs: 10, ...opts }).start();
  const app = createApp(runtime.deps);
  const request: Harness['request'] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= typeof body === 'string' ? 'application/yaml' : 'application/json';
    }
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    runtime,
    config,
    app,
    request,
    async waitForRun(runId, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = await request('GET', `/runs/${runId}`);
        if (r.status === 200 && TERMINAL_RUN.has(r.body.status)) return r.body;
        if (Date.now() > end) throw new Error(`run ${runId} not finished after ${timeoutMs} ms: ${JSON.stringify(r.body)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    stop: () => runtime.stop(),
  };
}

/** Every item of a table, as plain JSON sorted by key: to check that a rejected request changed nothing. */
export async function tableSnapshot(table: string): Promise<string> {
  const doc = documentClient(dynamoClient());
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((r.Items ?? []) as Record<string, unknown>[]));
    start = r.LastEvaluatedKey;
  } while (start);
  items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
  return JSON.stringify(items, (_k, v) => (v instanceof Set ? [...v].sort() : v));
}

/**
 * The sort keys of the items read (GetItem) through `client` whose sort key `match`es, in order, until
 * `stop()`; reads made through other clients (a test's own watch) are not seen.
 */
export function itemReads(client: DynamoDBClient, match: (sk: string) => boolean): { readonly reads: string[]; stop(): void } {
  const name = `itemReads${randomBytes(4).toString('hex')}`;
  const reads: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // At this step a document client's key is still plain (`sk: 'TASK#t1'`); a low-level one's is typed.
      const key = (args.input as { Key?: { sk?: { S?: string } | string } }).Key;
      const sk = typeof key?.sk === 'string' ? key.sk : key?.sk?.S;
      if (context.commandName === 'GetItemCommand' && sk !== undefined && match(sk)) reads.push(sk);
      return next(args);
    },
    { step: 'initialize', name },
  );
  return { reads, stop: () => void client.middlewareStack.remove(name) };
}

/** Counts the runtime's consistent reads of run items (GetItem with sort key RUN on its client) until `stop()`. */
export function countRunReads(h: Harness): { readonly n: number; stop(): void } {
  const { reads, stop } = itemReads(h.runtime.client, (sk) => sk === 'RUN');
  return {
    get n() {
      return reads.length;
    },
    stop,
  };
}

/**
 * The runtime's DynamoDB commands by name while `fn` runs, counted at the client (the document client
 * goes through it). With `pk`, only those on that partition key: a key, an item or a `:pk` value
 * (so that the runtime's own background work on other items is left out).
 */
export async function countCommands(h: Harness, fn: () => Promise<unknown>, pk?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const name = `countCommands${randomBytes(4).toString('hex')}`;
  h.runtime.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { pk?: unknown }; Item?: { pk?: unknown }; ExpressionAttributeValues?: Record<string, unknown> };
      const on = input.Key?.pk ?? input.Item?.pk ?? input.ExpressionAttributeValues?.[':pk'];
      // A document client's key is still plain at this step; a low-level client's is typed.
      if (pk === undefined || on === pk || (on as { S?: string } | undefined)?.S === pk) {
        const k = context.commandName ?? '?';
        counts[k] = (counts[k] ?? 0) + 1;
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    await fn();
  } finally {
    h.runtime.client.middlewareStack.remove(name);
  }
  return counts;
}
