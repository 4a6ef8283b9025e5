import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApp } from '../../functions/api/app.js';
import { type BatonConfig, loadConfig } from '../../functions/common/config.js';
import { log } from '../../functions/common/logger.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';
import { ensureTable } from '../../functions/store/table.js';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import { executors } from '../../functions/tasks/registry.js';
import { retentionFor, useDynamo } from '../support/harness.js';

/**
 * Support for the guard race tests: real DynamoDB Local, no runtime (nothing dispatches, nothing
 * sweeps), a clock the test sets, and a way to stop one caller between its reads and its first write.
 * A race test drives the racing calls itself, so the conditional write under test is what decides.
 */

/** A clock the test moves by hand. */
export class Clock {
  constructor(public t = Date.parse('2026-01-01T00:00:00Z')) {}
  readonly now = () => this.t;
}

/** Deps over a fresh table. Dispatches and timers are recorded, never run. */
export async function guardDeps(clock = new Clock(), env: Record<string, string> = {}): Promise<Deps & { dispatched: unknown[] }> {
  useDynamo();
  const table = `g${randomBytes(6).toString('hex')}`;
  await ensureTable(dynamoClient(), table);
  const config: BatonConfig = loadConfig({ BATON_TABLE: table, BATON_LEASE_MS: '10000', ...retentionFor(clock.t), ...env });
  const dispatched: unknown[] = [];
  return {
    db: new Db(documentClient(dynamoClient()), config),
    dispatch: async (job) => void dispatched.push(job),
    timer: async () => {},
    executors,
    aws: lazyAwsClients(),
    now: clock.now,
    log,
    workerId: 'guard-test',
    dispatched,
  };
}

const WRITES = new Set(['PutCommand', 'UpdateCommand', 'DeleteCommand']);

/**
 * The same table through a client that calls `beforeWrite(n)` (n = 0, 1, ...) before each write it
 * sends and waits for it: the test's handle on the gap between a caller's reads and its write. It
 * works on commands, not on store functions, so it survives refactors of the store.
 */
export function pausing(deps: Deps, beforeWrite: (n: number) => Promise<void> | void): Deps {
  const doc = deps.db.doc;
  let n = 0;
  const proxy = {
    send: async (cmd: { constructor: { name: string } }, ...rest: unknown[]) => {
      if (WRITES.has(cmd.constructor.name)) await beforeWrite(n++);
      return (doc.send as (...a: unknown[]) => Promise<unknown>)(cmd, ...rest);
    },
  } as unknown as DynamoDBDocumentClient;
  return { ...deps, db: new Db(proxy, deps.db.config) };
}

/** Resolves for everyone once `n` callers are waiting in it. */
export function barrier(n: number): () => Promise<void> {
  let waiting = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return () => {
    if (++waiting >= n) open();
    return opened;
  };
}

/** A gate the test opens by hand. */
export function gate(): { wait: () => Promise<void>; open: () => void; reached: Promise<void> } {
  let open!: () => void;
  let reach!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const reached = new Promise<void>((r) => {
    reach = r;
  });
  return {
    wait: () => {
      reach();
      return opened;
    },
    open,
    reached,
  };
}

/** `n` copies of `deps`, each pausing before its first write until all `n` have reached theirs. */
export function lockstep(deps: Deps, n: number): Deps[] {
  const meet = barrier(n);
  return Array.from({ length: n }, () => pausing(deps, (i) => (i === 0 ? meet() : undefined)));
}

/** Stores a workflow definition through the API. */
/** Stores workflow `w` (one noop task, `a`) and starts a run of it: the run most guard races act on. */
export async function oneTaskRun(deps: Deps): Promise<string> {
  await putWorkflow(deps, { name: 'w', tasks: { a: { type: 'noop' } } });
  return (await startWorkflow(deps, { workflow: 'w', trigger: { type: 'api' } })).runId;
}

export async function putWorkflow(deps: Deps, def: Record<string, unknown>): Promise<void> {
  const res = await createApp(deps).request(`/workflows/${def.name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(def),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT ${def.name}: ${res.status} ${await res.text()}`);
}

/** The API, in-process, over `deps`. */
export async function call(deps: Deps, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await createApp(deps).request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
