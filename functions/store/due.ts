import type { Db, Key } from './db.js';
import { dueShardName } from './items.js';
import { SCHEDULE_PK_PREFIX } from './schedules.js';
import { TABLE } from './table.js';

/** A key found in the due index, with the time it is due at. */
export type DueKey = Key & { readonly dueAt: number };

/** One page of the due index. */
export interface DuePage {
  readonly items: DueKey[];
  readonly next?: Record<string, unknown>;
}

/** What to read of one shard of the due index. */
export interface DueQuery {
  /** Items due at or before this time (ms). */
  readonly until: number;
  /** Only schedule items (filtered on the partition key, a key attribute, so it works on the KEYS_ONLY index). */
  readonly schedulesOnly?: boolean;
  /** Most items read per page. */
  readonly limit?: number;
  readonly start?: Record<string, unknown>;
}

/** The shards of the due index, in order. */
export const dueShards = (db: Db): string[] => Array.from({ length: db.config.dueShards }, (_, i) => dueShardName(i));

/** Reads one page of one shard of the due index, earliest first. */
export async function queryDue(db: Db, shard: string, q: DueQuery): Promise<DuePage> {
  const prefix = q.schedulesOnly ? SCHEDULE_PK_PREFIX : undefined;
  const r = await db.query<DueKey>({
    IndexName: TABLE.dueIndex,
    KeyConditionExpression: '#s = :s AND #d <= :until',
    ...(prefix !== undefined && { FilterExpression: 'begins_with(#pk, :p)' }),
    ExpressionAttributeNames: { '#s': TABLE.dueShard, '#d': TABLE.dueAt, ...(prefix !== undefined && { '#pk': TABLE.pk }) },
    ExpressionAttributeValues: { ':s': shard, ':until': q.until, ...(prefix !== undefined && { ':p': prefix }) },
    ...(q.limit !== undefined && { Limit: q.limit }),
    ExclusiveStartKey: q.start,
  });
  return { items: r.items.map(keyOfDue), next: r.next };
}

/** Just the key and due time of an item (index pages carry the index's key attributes too). */
const keyOfDue = (item: DueKey): DueKey => ({ pk: item.pk, sk: item.sk, dueAt: item.dueAt });

/** The primary key of any item. */
export const keyOf = (item: Key): Key => ({ pk: item.pk, sk: item.sk });
