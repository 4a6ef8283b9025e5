import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { BatonConfig } from '../common/config.js';
import { crashEnabled, crashPoint } from '../common/crash.js';
import { and, buildUpdate, type Condition, type UpdateSpec } from './expr.js';
import { dueShard } from './items.js';
import { TABLE } from './table.js';
import { classifyWriteError } from './unstorable.js';

export interface Key {
  readonly pk: string;
  readonly sk: string;
}

/** A `Key` as it arrives from outside the process (a timer message): both parts non-empty strings, nothing else. */
export const keySchema = z.object({ pk: z.string().min(1), sk: z.string().min(1) }).strict();

/**
 * The table, as the rest of the store sees it. Every write that can lose a race returns `false`
 * instead of throwing, so callers must look at the answer: that is the point of conditional writes.
 * A write refused for its data's sake throws an `UnstorableError`, which callers must not retry.
 */
export class Db {
  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly config: BatonConfig,
  ) {}

  get table(): string {
    return this.config.table;
  }

  /** The attributes that put an item in the due index at `at`. */
  due(key: Key, at: number): { dueAt: number; dueShard: string } {
    return { dueAt: Math.round(at), dueShard: dueShard(key.pk, key.sk, this.config.dueShards) };
  }

  /** The TTL attribute for an item that finished at `now` (none when retention is 0). */
  expiry(now: number): { expiresAt?: number } {
    const days = this.config.retentionDays;
    return days > 0 ? { expiresAt: Math.floor(now / 1000) + days * 86_400 } : {};
  }

  async get<T>(key: Key, consistent = true): Promise<T | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: consistent }));
    return r.Item as T | undefined;
  }

  /** Puts an item only if no item has its key. Returns false if one already did. */
  async create(item: Key & Record<string, unknown>): Promise<boolean> {
    const done = await this.conditional(`after:create:${kindOf(item)}`, async () => {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE.pk },
        }),
      );
      return true;
    });
    return done === true;
  }

  /**
   * A conditional update. Returns the item as it is after the write, or undefined when the
   * condition did not hold (someone else got there first, or the caller's view was stale).
   */
  async update<T>(key: Key, spec: UpdateSpec, condition?: Condition): Promise<T | undefined> {
    return this.conditional(`after:update:${kindOf(key)}`, async () => {
      const r = await this.doc.send(
        new UpdateCommand({ TableName: this.table, Key: key, ...buildUpdate(spec, condition), ReturnValues: 'ALL_NEW' }),
      );
      return r.Attributes as T;
    });
  }

  /** Deletes an item if it exists (and `condition` holds). False when it did not. */
  async remove(key: Key, condition?: Condition): Promise<boolean> {
    const exists = and({ expr: 'attribute_exists(#pk)', names: { '#pk': TABLE.pk } }, ...(condition ? [condition] : []));
    const done = await this.conditional(`after:delete:${kindOf(key)}`, async () => {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: key,
          ConditionExpression: exists.expr,
          ExpressionAttributeNames: exists.names,
          ...(exists.values && Object.keys(exists.values).length ? { ExpressionAttributeValues: exists.values } : {}),
        }),
      );
      return true;
    });
    return done === true;
  }

  /** Runs one conditional write: undefined when its condition did not hold, a crash point after it landed. */
  private async conditional<T>(point: string, write: () => Promise<T>): Promise<T | undefined> {
    try {
      const r = await write();
      if (crashEnabled) crashPoint(point);
      return r;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw classifyWriteError(err);
    }
  }

  async query<T>(input: Omit<QueryCommandInput, 'TableName'>): Promise<{ items: T[]; next?: Record<string, unknown> }> {
    const r = await this.doc.send(new QueryCommand({ TableName: this.table, ...input }));
    return { items: (r.Items ?? []) as T[], next: r.LastEvaluatedKey };
  }

  /** Every item of one partition, following pagination. */
  async queryAll<T>(pk: string, skPrefix?: string): Promise<T[]> {
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.query<T>({
        KeyConditionExpression: skPrefix ? 'pk = :pk AND begins_with(sk, :sk)' : 'pk = :pk',
        ExpressionAttributeValues: skPrefix ? { ':pk': pk, ':sk': skPrefix } : { ':pk': pk },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      });
      out.push(...r.items);
      start = r.next;
    } while (start);
    return out;
  }
}

/** The item type from its sort key (`TASK#x` → `TASK`), for naming crash points. */
const kindOf = (key: Key) => key.sk.split('#')[0];
