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
  /** Pause after a poll that found nothing new (default 50 ms). */
  readonly idleMs?: number;
  /**
   * Longest pause when polls keep finding nothing: each empty poll doubles the pause from `idleMs` up
   * to this (default 8 × `idleMs`); a poll that gets records, or `wake()`, goes back to `idleMs`. The
   * runtime wakes the poller after each of its own writes, so only records that another process wrote
   * can wait for the longer pause.
   */
  readonly maxIdleMs?: number;
  /**
   * A file that keeps, per shard, the last sequence number of a batch that succeeded, as the Lambda
   * event source does: a restarted poller resumes after it instead of replaying the stream.
   */
  readonly checkpointFile?: string;
  /** The streams client; default one on the table's endpoint. A test passes its own to act at the SDK edge. */
  readonly streams?: DynamoDBStreamsClient;
  /**
   * Read ahead: while a batch is handled and `wanted()` (something waits for it), the shard keeps being
   * read (at the idle pace when there is nothing new) and each read is shown to `note` at once, with when
   * it began if it reached the shard's tip (so a reader knows the stream was read up to then); its
   * records are handled as the next batches, in order. The master notes their images
   * (`store/stream-images.ts`): the re-processing of an inline ending that waits out its grace
   * then learns from the records after it, which otherwise would only be read once its own batch is
   * done. Absent: no read-ahead.
   */
  readonly ahead?: { readonly wanted: () => boolean; readonly note: (records: _Record[], caughtUpAt: number | undefined) => void };
}

interface ShardState {
  iterator?: string;
  /** A read returned no next iterator: the shard is closed and read to its end (what is left is in `ahead`). */
  closed: boolean;
  done: boolean;
  /** Records read ahead (`PollerOptions.ahead`), not handled yet: the next batches. */
  readonly ahead: _Record[];
}

/** Records read ahead of the batch in hand, at most (then the read-ahead waits for the batch). */
const MAX_AHEAD = 10_000;
/** Records per batch, as `GetRecords` returns at most. */
const BATCH = 1000;

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
  /** Polls in a row that found nothing (the idle pause doubles with each). */
  private emptyPolls = 0;
  /** Ends the idle pause in progress, if any. */
  private endPause: (() => void) | undefined;
  /** `wake()` came while no pause was in progress (a poll was under way): skip the next pause. */
  private woken = false;

  constructor(private readonly opts: PollerOptions) {
    // The streams API is served by the same endpoint as the table (DynamoDB Local, LocalStack, AWS).
    this.streams = opts.streams ?? new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    const file = opts.checkpointFile;
    this.positions = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  }

  private saveCheckpoint(shardId: string, sequence: string | undefined) {
    if (!sequence) return;
    // Kept in memory even without a file: a dropped iterator is taken again after it, not at the trim horizon.
    this.positions[shardId] = sequence;
    const file = this.opts.checkpointFile;
    if (!file) return;
    writeFileSync(`${file}.tmp`, JSON.stringify(this.positions));
    renameSync(`${file}.tmp`, file);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.endPause?.();
    await this.loop;
  }

  /**
   * Something was just written to the table (its record is on the stream): poll now, and at the
   * `idleMs` pace again, instead of finishing a longer idle pause.
   */
  wake(): void {
    this.emptyPolls = 0;
    if (this.endPause) this.endPause();
    else this.woken = true;
  }

  /** The pause after a poll that got nothing: `idleMs`, doubling per empty poll in a row up to `maxIdleMs`; `wake` ends it. */
  private idlePause(): Promise<void> {
    const idle = this.opts.idleMs ?? 50;
    const max = Math.max(idle, this.opts.maxIdleMs ?? 8 * idle);
    const ms = Math.min(max, idle * 2 ** Math.min(this.emptyPolls++, 30));
    if (this.woken) {
      // Written to while that poll was under way: its read may have been too early for the record.
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((done) => {
      const end = () => {
        clearTimeout(t);
        if (this.endPause === end) this.endPause = undefined;
        done();
      };
      const t = setTimeout(end, ms);
      this.endPause = end;
    });
  }

  private async run() {
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
      if (got > 0) {
        this.emptyPolls = 0;
        this.woken = false;
      } else if (this.running) await this.idlePause();
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
        if (shard.ShardId && !this.shards.has(shard.ShardId)) this.shards.set(shard.ShardId, { closed: false, done: false, ahead: [] });
      }
      start = d.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  private async pollShard(shardId: string, s: ShardState): Promise<number> {
    let records: _Record[];
    if (s.ahead.length > 0) records = s.ahead.splice(0, BATCH);
    else {
      if (!(await this.iterate(shardId, s))) return 0;
      const r = await this.read(shardId, s);
      if (!r) return 0;
      records = r.Records ?? [];
      this.advance(s, r);
    }
    if (records.length > 0) {
      let handled = () => {};
      const done = new Promise<void>((r) => {
        handled = r;
      });
      const reading = this.readAhead(done);
      try {
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
      } finally {
        handled();
        await reading;
      }
      this.saveCheckpoint(shardId, records.at(-1)?.dynamodb?.SequenceNumber);
    }
    if (s.closed && s.ahead.length === 0) s.done = true;
    return records.length;
  }

  /**
   * Whether the shard has an iterator to read at, taking one if it has none: after the checkpoint if
   * there is one, else at the trim horizon. A closed shard takes none (it was read to its end; what is
   * left waits in `ahead`), nor does one the endpoint gives none for (then it is done).
   */
  private async iterate(shardId: string, s: ShardState): Promise<boolean> {
    if (s.iterator) return true;
    if (s.closed || s.done) return false;
    const after = this.positions[shardId];
    const it = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    s.iterator = it.ShardIterator;
    if (!s.iterator) s.done = s.ahead.length === 0;
    return s.iterator !== undefined;
  }

  /** Moves the shard's iterator on past a read; none next means the shard is closed and read to its end. */
  private advance(s: ShardState, r: GetRecordsCommandOutput) {
    s.iterator = r.NextShardIterator;
    if (!s.iterator) s.closed = true;
  }

  /** One `GetRecords` at the shard's iterator; undefined when the iterator had to be dropped (taken again next poll). */
  private async read(shardId: string, s: ShardState): Promise<GetRecordsCommandOutput | undefined> {
    try {
      return await this.streams.send(new GetRecordsCommand({ ShardIterator: s.iterator, Limit: BATCH }));
    } catch (err) {
      // An expired iterator, or one DynamoDB Local took before the stream had data (it then answers
      // TrimmedDataAccessException forever): start again from the oldest record still kept.
      if (err instanceof ExpiredIteratorException || err instanceof TrimmedDataAccessException) {
        this.opts.log.debug({ shardId, err: (err as Error).name }, 'stream iterator reset');
        if (err instanceof TrimmedDataAccessException) delete this.positions[shardId];
        s.iterator = undefined;
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Reads every open shard on until the batch in hand is `handled`, while wanted (`PollerOptions.ahead`):
   * what arrives waits in each shard's `ahead` for its turn. Every shard, not only the batch's: the
   * endpoint opens new shards as it goes (DynamoDB Local does within seconds, AWS within hours), and
   * the records a re-processing waits for (the successors its ending's writer queued) may be in another
   * shard than the ending. A pass says "read up to then" only when every open shard's read reached its
   * tip. A failed read ends the read-ahead; the next poll takes the iterator up again. An iterator that
   * had to be dropped drops what was read ahead of its shard with it: the next poll of that shard reads
   * on from its checkpoint, which the batch in hand moves to its end, so nothing is missed (and, but for
   * a trimmed iterator, which starts again from the trim horizon as before, nothing is handled twice).
   */
  private async readAhead(handled: Promise<void>): Promise<void> {
    const ahead = this.opts.ahead;
    if (!ahead) return;
    const idle = this.opts.idleMs ?? 50;
    let handling = true;
    void handled.then(() => {
      handling = false;
    });
    // A pause that ends early when the batch is done: the poller goes on with the next batch at once.
    const pause = (ms: number) => Promise.race([sleep(ms), handled]);
    while (handling && this.running) {
      if (!ahead.wanted()) {
        await pause(Math.min(idle, 5));
        continue;
      }
      const startedAt = Date.now();
      const got: _Record[] = [];
      let tip = true;
      let read = false;
      let full = false;
      try {
        await this.discover(); // at most once a second: a shard opened while this waits is read too
        for (const [shardId, s] of this.shards) {
          if (s.done || s.closed) continue;
          if (s.ahead.length >= MAX_AHEAD || !(await this.iterate(shardId, s))) {
            tip = tip && s.done;
            continue;
          }
          const r = await this.read(shardId, s);
          if (!r) {
            // The iterator was dropped: records already read ahead must not be read twice.
            s.ahead.length = 0;
            tip = false;
            continue;
          }
          read = true;
          const records = r.Records ?? [];
          this.advance(s, r);
          s.ahead.push(...records);
          got.push(...records);
          // A full read may have left more behind: only a read that reached the shard's tip says "read up to then".
          if (records.length >= BATCH) full = true;
        }
      } catch (err) {
        this.opts.log.debug({ err }, 'stream read-ahead failed; the next poll reads on');
        return;
      }
      if (!read) return; // nothing left to read ahead of (every shard full, closed or without an iterator)
      ahead.note(got, tip && !full ? startedAt : undefined);
      // At the idle pace even when records came (unless a full read left more behind): a read-ahead serves
      // the master's waits; a busy loop would take the endpoint (and this event loop) from the engine's own requests.
      if (!full) await pause(idle);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
