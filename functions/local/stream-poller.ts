import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
import type { Logger } from '../common/logger.js';
import { clientDefaults } from '../store/client.js';

export interface PollerOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  /**
   * Handles one batch and reports the records that failed (a partial batch failure, as with the Lambda
   * event source's `ReportBatchItemFailures`): the poller retries only those, with backoff. A rejection
   * counts as every record failing. The handler bounds the retries: it parks a record that keeps failing
   * and stops reporting it (see `orchestrator/poison.ts`). Nothing reported means every record succeeded.
   */
  readonly onBatch: (records: _Record[]) => Promise<_Record[] | undefined>;
  /**
   * First pause before retrying failed records; it doubles per retry up to 5 s
   * (`BATON_STREAM_RETRY_BASE_MS`, default 100).
   */
  readonly retryBaseMs?: number;
  readonly log: Logger;
  /** Pause between polls of an idle shard. */
  readonly idleMs?: number;
  /**
   * A file that keeps, per shard, the last sequence number of a batch that succeeded, as the Lambda
   * event source does: a restarted poller resumes after it instead of replaying the stream.
   */
  readonly checkpointFile?: string;
  /** The streams client; default one on the table's endpoint. A test passes its own to act at the SDK edge. */
  readonly streams?: DynamoDBStreamsClient;
}

interface ShardState {
  iterator?: string;
  done: boolean;
}

/**
 * Stands in for the Lambda event source mapping: reads the table's stream shard by shard and hands
 * each batch to the master, retrying the records it reports failed until it reports none. Starts at the trim horizon, so events
 * written while the runtime was down are delivered when it comes back.
 */
export class StreamPoller {
  private readonly streams: DynamoDBStreamsClient;
  private readonly shards = new Map<string, ShardState>();
  private running = false;
  private loop: Promise<void> | undefined;
  private streamArn: string | undefined;
  private lastDescribe = 0;
  private readonly positions: Record<string, string>;

  constructor(private readonly opts: PollerOptions) {
    // The streams API is served by the same endpoint as the table (DynamoDB Local, LocalStack, AWS).
    this.streams = opts.streams ?? new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    const file = opts.checkpointFile;
    this.positions = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  }

  private saveCheckpoint(shardId: string, sequence: string | undefined) {
    const file = this.opts.checkpointFile;
    if (!file || !sequence) return;
    this.positions[shardId] = sequence;
    writeFileSync(`${file}.tmp`, JSON.stringify(this.positions));
    renameSync(`${file}.tmp`, file);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run() {
    const idle = this.opts.idleMs ?? 50;
    while (this.running) {
      let got = 0;
      try {
        await this.discover();
        for (const [id, s] of this.shards) {
          if (!s.done) got += await this.pollShard(id, s);
        }
      } catch (err) {
        this.opts.log.warn({ err }, 'stream poll failed; retrying');
        await sleep(500);
      }
      if (got === 0) await sleep(idle);
    }
  }

  private async discover() {
    const now = Date.now();
    if (this.streamArn && now - this.lastDescribe < 1000) return;
    this.lastDescribe = now;
    if (!this.streamArn) {
      const t = await this.opts.client.send(new DescribeTableCommand({ TableName: this.opts.table }));
      this.streamArn = t.Table?.LatestStreamArn;
      if (!this.streamArn) throw new Error(`table ${this.opts.table} has no stream`);
    }
    let start: string | undefined;
    do {
      const d = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }));
      for (const shard of d.StreamDescription?.Shards ?? []) {
        if (shard.ShardId && !this.shards.has(shard.ShardId)) this.shards.set(shard.ShardId, { done: false });
      }
      start = d.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  private async pollShard(shardId: string, s: ShardState): Promise<number> {
    if (!s.iterator) {
      const after = this.positions[shardId];
      const it = await this.streams.send(
        new GetShardIteratorCommand({
          StreamArn: this.streamArn,
          ShardId: shardId,
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
      r = await this.streams.send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: 1000 }));
    } catch (err) {
      // An expired iterator, or one DynamoDB Local took before the stream had data (it then answers
      // TrimmedDataAccessException forever): start again from the oldest record still kept.
      if (err instanceof ExpiredIteratorException || err instanceof TrimmedDataAccessException) {
        this.opts.log.debug({ shardId, err: (err as Error).name }, 'stream iterator reset');
        if (err instanceof TrimmedDataAccessException) delete this.positions[shardId];
        s.iterator = undefined;
        return 0;
      }
      throw err;
    }
    const records = r.Records ?? [];
    if (records.length > 0) {
      // Like the event source mapping with partial batch responses: failed records are retried (the
      // others are done) until the handler reports none, which it does at the latest once it parks them.
      let failed = records;
      for (let retry = 0; failed.length > 0; retry++) {
        if (retry > 0) {
          this.opts.log.warn({ shardId, failed: failed.length, retry }, 'stream records failed; retrying them');
          if (!this.running) return records.length;
          await sleep(Math.min(5000, (this.opts.retryBaseMs ?? 100) * 2 ** (retry - 1)));
        }
        const batch = failed;
        failed = await this.opts.onBatch(batch).then(
          (f) => f ?? [],
          (err: unknown) => {
            this.opts.log.error({ err, shardId, records: batch.length }, 'stream batch failed');
            return batch;
          },
        );
      }
      this.saveCheckpoint(shardId, records.at(-1)?.dynamodb?.SequenceNumber);
    }
    s.iterator = r.NextShardIterator;
    if (!s.iterator) s.done = true;
    return records.length;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
