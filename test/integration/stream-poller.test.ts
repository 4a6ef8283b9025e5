import { randomBytes } from 'node:crypto';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DescribeStreamCommandOutput,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { log } from '../../functions/common/logger.js';
import { StreamPoller } from '../../functions/local/stream-poller.js';
import { clientDefaults, documentClient, dynamoClient } from '../../functions/store/client.js';
import { ensureTable } from '../../functions/store/table.js';
import { useDynamo } from '../support/harness.js';

useDynamo();

/**
 * DynamoDB Local sometimes answers GetRecords with TrimmedDataAccessException for an iterator taken on
 * a fresh, still-empty shard while other tables of the same instance are created or written (test files
 * running side by side hit it most of the time; aws/aws-sdk-java#2923). The same iterator then fails
 * every time. A poller that retries it forever never sees a stream event again, and runs move only when
 * the sweeper or the run watchdog finds them (seconds per step). The poller must take a new iterator.
 *
 * The trigger is timing-dependent, so this test makes it deterministic at the SDK edge: the first
 * iterator the poller uses is answered with TrimmedDataAccessException every time it is used.
 */
describe('the local stream poller', () => {
  let poller: StreamPoller | undefined;
  afterAll(async () => {
    await poller?.stop();
  });

  it('recovers from an iterator that DynamoDB Local reports as trimmed', async () => {
    const table = `t${randomBytes(6).toString('hex')}`;
    const client = dynamoClient();
    await ensureTable(client, table);
    const seen: string[] = [];
    // The poller's own streams client, with the trimmed-iterator fault added at the SDK edge.
    const streams = new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    poller = new StreamPoller({
      streams,
      client,
      table,
      log,
      idleMs: 10,
      onBatch: async (records) => {
        for (const r of records) seen.push(r.dynamodb?.Keys?.pk?.S ?? '?');
        return [];
      },
    });
    let poisoned: string | undefined;
    streams.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetRecordsCommand') {
          const iterator = (args.input as { ShardIterator?: string }).ShardIterator;
          poisoned ??= iterator;
          if (iterator === poisoned) {
            throw new TrimmedDataAccessException({
              message: 'The operation attempted to read past the oldest stream record in a shard.',
              $metadata: {},
            });
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'trimmedIterator' },
    );
    poller.start();
    const doc = documentClient(client);
    for (const pk of ['a', 'b', 'c']) await doc.send(new PutCommand({ TableName: table, Item: { pk, sk: 'x' } }));
    const end = Date.now() + 5000;
    while (seen.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(poisoned).toBeDefined();
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
  }, 30_000);

  it('reads ahead while a batch is handled and wanted: those records are seen at once, then handled once, in order', async () => {
    const table = `t${randomBytes(6).toString('hex')}`;
    const client = dynamoClient();
    await ensureTable(client, table);
    const doc = documentClient(client);
    const put = (pk: string) => doc.send(new PutCommand({ TableName: table, Item: { pk, sk: 'x' } }));
    const handled: string[] = [];
    const noted: string[] = [];
    const pk = (r: { dynamodb?: { Keys?: { pk?: { S?: string } } } }) => r.dynamodb?.Keys?.pk?.S ?? '?';
    let caughtUp = 0;
    let waiting = false;
    const ahead = poller2(client, table, {
      wanted: () => waiting,
      note: (records, at) => {
        noted.push(...records.map(pk));
        if (at !== undefined) caughtUp = at;
      },
      onBatch: async (records) => {
        // The first batch waits, as a re-processing waits on images, until the read-ahead has seen b and c.
        if (records.some((r) => pk(r) === 'a')) {
          waiting = true;
          const since = Date.now();
          await put('b'); // one after the other: two puts at once may reach the stream in either order
          await put('c');
          const end = Date.now() + 10_000;
          while (!(noted.includes('c') && caughtUp >= since) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
          waiting = false;
        }
        handled.push(...records.map(pk));
        return [];
      },
    });
    await put('a');
    const end = Date.now() + 15_000;
    while (handled.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await ahead.stop();
    expect(noted).toEqual(['b', 'c']); // seen while a's batch was in hand
    expect(handled).toEqual(['a', 'b', 'c']); // each once, in order
  }, 30_000);

  it('reads ahead on every open shard, not only the batch in hand: a record in another shard is seen at once', async () => {
    // The endpoint opens new shards as it goes (DynamoDB Local within seconds of writing, after which a
    // run's ending and its successors' records can sit in different shards). Made deterministic at the SDK
    // edge: the stream of a second table is shown to the poller as one more shard of the first.
    const table = `t${randomBytes(6).toString('hex')}`;
    const other = `t${randomBytes(6).toString('hex')}`;
    const client = dynamoClient();
    await ensureTable(client, table);
    await ensureTable(client, other);
    const doc = documentClient(client);
    const put = (t: string, pk: string) => doc.send(new PutCommand({ TableName: t, Item: { pk, sk: 'x' } }));
    await put(other, 'u0'); // the other stream has a shard from now on
    const arn = async (t: string) => (await client.send(new DescribeTableCommand({ TableName: t }))).Table?.LatestStreamArn as string;
    const [mine, theirs] = [await arn(table), await arn(other)];
    const streams = new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    const theirShards = new Set<string>();
    streams.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { StreamArn?: string; ShardId?: string };
        if (context.commandName === 'GetShardIteratorCommand' && input.ShardId && theirShards.has(input.ShardId)) input.StreamArn = theirs;
        const out = await next(args);
        if (context.commandName === 'DescribeStreamCommand' && input.StreamArn === mine) {
          const d = await streams.send(new DescribeStreamCommand({ StreamArn: theirs }));
          const shards = d.StreamDescription?.Shards ?? [];
          for (const sh of shards) if (sh.ShardId) theirShards.add(sh.ShardId);
          (out.output as DescribeStreamCommandOutput).StreamDescription?.Shards?.push(...shards);
        }
        return out;
      },
      { step: 'initialize', name: 'oneMoreShard' },
    );
    const handled: string[] = [];
    const noted: string[] = [];
    const pk = (r: { dynamodb?: { Keys?: { pk?: { S?: string } } } }) => r.dynamodb?.Keys?.pk?.S ?? '?';
    let caughtUp = 0;
    let waiting = false;
    let sawOther = false;
    const p = new StreamPoller({
      streams,
      client,
      table,
      log,
      idleMs: 10,
      ahead: {
        wanted: () => waiting,
        note: (records, at) => {
          noted.push(...records.map(pk));
          if (at !== undefined) caughtUp = at;
        },
      },
      onBatch: async (records) => {
        if (records.some((r) => pk(r) === 'a')) {
          waiting = true;
          const since = Date.now();
          await put(other, 'b');
          const end = Date.now() + 5000;
          while (!(noted.includes('b') && caughtUp >= since) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
          sawOther = noted.includes('b') && caughtUp >= since;
          waiting = false;
        }
        handled.push(...records.map(pk));
        return [];
      },
    });
    p.start();
    try {
      const until = async (n: number) => {
        const end = Date.now() + 15_000;
        while (handled.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      };
      await until(1); // u0, from the other shard
      await put(table, 'a');
      await until(3);
    } finally {
      await p.stop();
    }
    expect(theirShards.size).toBeGreaterThan(0);
    expect(sawOther).toBe(true); // seen, and every shard read to its tip, while a's batch was in hand
    expect(noted).toEqual(['b']);
    expect(handled).toEqual(['u0', 'a', 'b']); // each once
  }, 30_000);

  it('a read-ahead whose iterator expires leaves the shard open: later records are handled, earlier ones not again', async () => {
    const table = `t${randomBytes(6).toString('hex')}`;
    const client = dynamoClient();
    await ensureTable(client, table);
    const doc = documentClient(client);
    const put = (pk: string) => doc.send(new PutCommand({ TableName: table, Item: { pk, sk: 'x' } }));
    const streams = new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    let waiting = false;
    let expired = 0;
    // The first read made while a batch is in hand (the read-ahead's) finds its iterator expired.
    streams.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetRecordsCommand' && waiting && expired === 0) {
          expired++;
          throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize', name: 'expiredIterator' },
    );
    const handled: string[] = [];
    const pk = (r: { dynamodb?: { Keys?: { pk?: { S?: string } } } }) => r.dynamodb?.Keys?.pk?.S ?? '?';
    const p = new StreamPoller({
      streams,
      client,
      table,
      log,
      idleMs: 10,
      ahead: { wanted: () => waiting, note: () => {} },
      onBatch: async (records) => {
        if (records.some((r) => pk(r) === 'a')) {
          waiting = true;
          const end = Date.now() + 5000;
          while (expired === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
          waiting = false;
        }
        handled.push(...records.map(pk));
        return [];
      },
    });
    p.start();
    try {
      await put('a');
      const until = async (n: number) => {
        const end = Date.now() + 10_000;
        while (handled.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      };
      await until(1);
      await put('b');
      await until(2);
      await new Promise((r) => setTimeout(r, 200)); // room for a record handled twice to show
    } finally {
      await p.stop();
    }
    expect(expired).toBe(1);
    expect(handled).toEqual(['a', 'b']);
  }, 30_000);
});

/** A poller over `table` with a read-ahead, started. */
function poller2(
  client: ReturnType<typeof dynamoClient>,
  table: string,
  o: {
    wanted: () => boolean;
    note: NonNullable<ConstructorParameters<typeof StreamPoller>[0]['ahead']>['note'];
    onBatch: ConstructorParameters<typeof StreamPoller>[0]['onBatch'];
  },
): StreamPoller {
  const p = new StreamPoller({ client, table, log, idleMs: 10, onBatch: o.onBatch, ahead: { wanted: o.wanted, note: o.note } });
  p.start();
  return p;
}
