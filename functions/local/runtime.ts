import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { type BatonConfig, intSetting, loadConfig } from '../common/config.js';
import { log as rootLog } from '../common/logger.js';
import type { Deps, Job } from '../orchestrator/deps.js';
import { handleRecord, maxRecordAttempts, type StreamRecord } from '../orchestrator/poison.js';
import { schedulerTick } from '../orchestrator/scheduler.js';
import { fireDue, sweep } from '../orchestrator/sweeper.js';
import { runAttempt } from '../orchestrator/worker.js';
import { documentClient, dynamoClient } from '../store/client.js';
import type { Key } from '../store/db.js';
import { Db } from '../store/db.js';
import { lazyAwsClients } from '../tasks/aws-clients.js';
import { executors as allExecutors } from '../tasks/registry.js';
import { Invoker } from './invoker.js';
import { lambdaMapFunctions } from './lambda-mapping.js';
import { StreamPoller } from './stream-poller.js';

export interface RuntimeOptions {
  readonly config?: BatonConfig;
  readonly client?: DynamoDBClient;
  /** How often the sweeper runs (default `BATON_SWEEP_INTERVAL_MS`, 1000). */
  readonly sweepIntervalMs?: number;
  readonly pollIdleMs?: number;
  /** Keep the stream position in this file across restarts (see `StreamPoller`). */
  readonly streamCheckpoint?: string;
  readonly concurrency?: number;
  /** Which roles this process plays (all by default); the crash tests run them as separate processes. */
  readonly roles?: { master?: boolean; worker?: boolean; sweeper?: boolean; scheduler?: boolean };
  /** How often the cron scheduler ticks (default `BATON_SCHEDULER_INTERVAL_MS`, 1000). */
  readonly schedulerIntervalMs?: number;
  readonly deps?: Partial<Deps>;
  /** First pause before a failed stream record is retried (default `BATON_STREAM_RETRY_BASE_MS`, 100). */
  readonly streamRetryBaseMs?: number;
  /** Failed handlings of a stream record before it is parked (default `BATON_STREAM_MAX_ATTEMPTS`, 5). */
  readonly streamMaxAttempts?: number;
}

/**
 * Every Lambda function of Baton in one process: the stream poller feeds the master, an in-process
 * invoker runs workers, timers and a periodic sweep stand in for SQS delays and EventBridge. The
 * handlers' code is the same as in AWS; only the wiring differs.
 */
export class LocalRuntime {
  readonly deps: Deps;
  readonly client: DynamoDBClient;
  private readonly invoker: Invoker<Job>;
  private readonly poller: StreamPoller | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();
  private schedulerTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly opts: RuntimeOptions = {}) {
    const config = opts.config ?? loadConfig();
    this.client = opts.client ?? dynamoClient();
    const roles = { master: true, worker: true, sweeper: true, scheduler: true, ...opts.roles };
    const log = opts.deps?.log ?? rootLog;
    this.invoker = new Invoker<Job>((job) => (roles.worker ? runAttempt(this.deps, job) : Promise.resolve()), log, opts.concurrency ?? 32);
    this.deps = {
      db: new Db(documentClient(this.client), config),
      executors: allExecutors,
      aws: lazyAwsClients(),
      localFunctions: lambdaMapFunctions(),
      now: Date.now,
      log,
      workerId: `local-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      dispatch: (job) => this.invoker.invoke(job),
      timer: async (key, at) => this.schedule(key, at),
      ...opts.deps,
    };
    if (roles.master) {
      this.poller = new StreamPoller({
        client: this.client,
        table: config.table,
        log,
        idleMs: opts.pollIdleMs,
        checkpointFile: opts.streamCheckpoint,
        retryBaseMs: opts.streamRetryBaseMs ?? Number(process.env.BATON_STREAM_RETRY_BASE_MS ?? 100),
        onBatch: (records) => this.onBatch(records),
      });
    }
    this.roles = roles;
    this.maxAttempts = opts.streamMaxAttempts ?? maxRecordAttempts();
  }

  private readonly maxAttempts: number;

  private readonly roles: { master: boolean; worker: boolean; sweeper: boolean; scheduler: boolean };

  start(): this {
    this.poller?.start();
    if (this.roles.sweeper) {
      const every = this.opts.sweepIntervalMs ?? intSetting(process.env, 'BATON_SWEEP_INTERVAL_MS', 1000, 1);
      const tick = () => {
        this.sweeping = sweep(this.deps).catch((err) => this.deps.log.error({ err }, 'sweep failed'));
        void this.sweeping.then(() => {
          if (!this.stopped) this.sweepTimer = setTimeout(tick, every);
        });
      };
      tick();
    }
    if (this.roles.scheduler) {
      const every = this.opts.schedulerIntervalMs ?? intSetting(process.env, 'BATON_SCHEDULER_INTERVAL_MS', 1000, 1);
      const schedTick = () => {
        this.ticking = schedulerTick(this.deps).catch((err) => this.deps.log.error({ err }, 'scheduler tick failed'));
        void this.ticking.then(() => {
          if (!this.stopped) this.schedulerTimer = setTimeout(schedTick, every);
        });
      };
      schedTick();
    }
    return this;
  }

  /** Handles a batch; returns the records that failed, for the poller to retry (a partial batch failure). */
  private async onBatch(records: _Record[]): Promise<_Record[]> {
    // Records of one batch are independent transitions: handle them concurrently, at most 64 at a
    // time (a pool, so one slow record does not hold back the others). A failure retries only its record.
    let next = 0;
    const failed = new Set<_Record>();
    const lane = async () => {
      while (next < records.length) {
        const r = records[next++] as _Record;
        try {
          await handleRecord(this.deps, r as StreamRecord, this.maxAttempts);
        } catch (err) {
          failed.add(r);
          this.deps.log.error({ err, sequence: r.dynamodb?.SequenceNumber, event: r.eventName }, 'stream record failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, records.length) }, lane));
    return records.filter((r) => failed.has(r));
  }

  /** A precise wake-up for one item; the periodic sweep is the backstop if this process dies. */
  private schedule(key: Key, at: number) {
    if (this.stopped || !this.roles.sweeper) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fireDue(this.deps, key).catch((err) => this.deps.log.error({ key, err }, 'timer failed'));
      },
      Math.max(0, at - Date.now()) + 5,
    );
    t.unref();
    this.timers.add(t);
  }

  /** Runs one sweep now (the on-demand form of the scheduled sweeper). */
  sweepNow() {
    return sweep(this.deps);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.schedulerTimer) clearTimeout(this.schedulerTimer);
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([this.poller?.stop(), this.invoker.close(), this.sweeping, this.ticking]);
  }
}
