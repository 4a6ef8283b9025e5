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

/** Most version numbers one save tries before giving up (each try lost to a concurrent save). */
const MAX_SAVE_TRIES = 20;

/**
 * Stores a definition as a new immutable version. Saving the same definition as the latest is a
 * no-op that returns the latest version. Concurrent saves each get their own version number.
 */
export async function saveDefinition(db: Db, definition: WorkflowDefinition, now: number): Promise<{ version: number; created: boolean }> {
  const d = digest(definition);
  for (let tries = 0; tries < MAX_SAVE_TRIES; tries++) {
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
  throw new Error(`could not store a new version of ${definition.name}: ${MAX_SAVE_TRIES} concurrent saves won first`);
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
