import { setTimeout as sleep } from 'node:timers/promises';
import { ContentionError } from '../common/errors.js';
import { digest } from '../common/ids.js';
import type { WorkflowDefinition } from '../engine/definition/types.js';
import type { Db } from './db.js';
import { keys } from './items.js';

export interface DefinitionItem {
  readonly name: string;
  readonly version: number;
  readonly digest: string;
  readonly definition: WorkflowDefinition;
  readonly createdAt: number;
}

export interface WorkflowSummary {
  readonly name: string;
  readonly latestVersion: number;
  readonly description?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export async function latestDefinition(db: Db, name: string): Promise<DefinitionItem | undefined> {
  const r = await db.query<DefinitionItem>({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
    ExpressionAttributeValues: { ':pk': keys.definition(name, 0).pk, ':v': 'V#' },
    ScanIndexForward: false,
    Limit: 1,
    ConsistentRead: true,
  });
  return r.items[0];
}

export const getDefinition = (db: Db, name: string, version: number) => db.get<DefinitionItem>(keys.definition(name, version), false);

/**
 * Attempts at a new version number before `saveDefinition` gives up with a ContentionError. Each
 * round of contenders has one winner, so this covers ~this many different definitions saved at once.
 */
export const MAX_SAVE_DEFINITION_ATTEMPTS = 64;
/** Upper bound of the random pause between attempts, in ms (spreads contenders out). */
const SAVE_BACKOFF_MS = 25;

/**
 * Stores a definition as a new immutable version. Saving the same definition as the latest is a
 * no-op that returns the latest version. Concurrent saves each get their own version number; past
 * `MAX_SAVE_DEFINITION_ATTEMPTS` lost races it throws a ContentionError (the API answers 503).
 */
export function saveDefinition(db: Db, definition: WorkflowDefinition, now: number): Promise<{ version: number; created: boolean }> {
  // Saves of one workflow through one Db (one per process) queue behind each other rather than race for
  // the same version number (50 concurrent PUTs would otherwise cost ~50 rounds each); other processes
  // (other Db instances) still race, and the conditional create decides.
  const key = `${db.table}/${definition.name}`;
  const saving = queues.get(db) ?? new Map<string, Promise<void>>();
  queues.set(db, saving);
  const prev = saving.get(key) ?? Promise.resolve();
  const mine = prev.then(() => saveVersion(db, definition, now));
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  saving.set(key, settled);
  void settled.then(() => {
    if (saving.get(key) === settled) saving.delete(key);
  });
  return mine;
}

/** Per Db, the tail of each workflow's queue of saves. */
const queues = new WeakMap<Db, Map<string, Promise<void>>>();

async function saveVersion(db: Db, definition: WorkflowDefinition, now: number): Promise<{ version: number; created: boolean }> {
  const d = digest(definition);
  for (let tries = 0; tries < MAX_SAVE_DEFINITION_ATTEMPTS; tries++) {
    if (tries > 0) await sleep(Math.random() * SAVE_BACKOFF_MS * Math.min(tries, 4));
    const latest = await latestDefinition(db, definition.name);
    if (latest?.digest === d) return { version: latest.version, created: false };
    const version = (latest?.version ?? 0) + 1;
    const item = { ...keys.definition(definition.name, version), name: definition.name, version, digest: d, definition, createdAt: now };
    if (await db.create(item)) {
      await db.update(
        keys.workflow(definition.name),
        {
          set: { name: definition.name, latestVersion: version, description: definition.description, updatedAt: now },
          setIfMissing: { createdAt: now },
        },
        { expr: 'attribute_not_exists(#v) OR #v < :v', names: { '#v': 'latestVersion' }, values: { ':v': version } },
      );
      return { version, created: true };
    }
  }
  throw new ContentionError(
    `could not store a new version of ${definition.name}: lost ${MAX_SAVE_DEFINITION_ATTEMPTS} races for a version number`,
    'MAX_SAVE_DEFINITION_ATTEMPTS',
    MAX_SAVE_DEFINITION_ATTEMPTS,
  );
}

export async function listWorkflows(db: Db): Promise<WorkflowSummary[]> {
  const items = await db.queryAll<WorkflowSummary & { pk: string; sk: string }>(keys.workflow('').pk);
  return items.map(({ name, latestVersion, description, createdAt, updatedAt }) => ({
    name,
    latestVersion,
    description,
    createdAt,
    updatedAt,
  }));
}
