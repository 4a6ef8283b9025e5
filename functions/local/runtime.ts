import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { type BatonConfig, intSetting, loadConfig } from '../common/config.js';
import { log as rootLog } from '../common/logger.js';
import type { Deps, Job } from '../orchestrator/deps.js';
import { handleRecord, maxRecordAttempts, type StreamRecord } from '../orchestrator/poison.js';
import { schedulerTick } from '../orchestrator/scheduler.js';
import { noteBatch } from '../orchestrator/stream.js';
import { fireDue, sweep } from '../orchestrator/sweeper.js';
import { runAttempt } from '../orchestrator/worker.js';
import { documentClient, dynamoClient } from '../store/client.js';
import type { Key } from '../store/db.js';
import { Db } from '../store/db.js';
import { StreamImages } from '../store/stream-images.js';
import { lazyAwsClients } from '../tasks/aws-clients.js';
import { executors as allExecutors } from '../tasks/registry.js';
import { startWorkerServer, type WorkerServer } from './http-invoker.js';
import { Invoker } from './invoker.js';
import { lambdaMapFunctions } from './lambda-mapping.js';
import { Membership } from './membership.js';
import { StreamPoller } from './stream-poller.js';
import { WorkShare } from './work-share.js';

/** The commands that change items (and so put records on the table's stream). */
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand']);

export interface RuntimeOptions {
  readonly config?: BatonConfig;
  readonly client?: DynamoDBClient;
  /** How often the sweeper runs (default `BATON_SWEEP_INTERVAL_MS`, 1000). */
  readonly sweepIntervalMs?: number;
  readonly pollIdleMs?: number;
  /**
   * Longest pause between polls of a stream that stays idle (default `BATON_POLL_MAX_IDLE_MS`, else 8 ×
   * the idle pause): see `StreamPoller`. The runtime's own writes wake the poller at once.
   */
  readonly pollMaxIdleMs?: number;
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
  /**
   * Share the table's work with the other runtime processes that share it, instead of racing them
   * (see `work-share.ts`): each handles the stream records and runs the jobs it owns. Needs the
   * master and worker roles. Default `BATON_SHARE_WORK` (`false`; `npm start` turns it on).
   */
  readonly share?: boolean;
}

/** Whether an environment variable says yes (`1`, `true`, `yes`, `on`). */
export const envFlag = (v: string | undefined, fallback: boolean): boolean =>
  v === undefined || v === '' ? fallback : ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

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
  private membership: Membership | undefined;
  private workShare: WorkShare | undefined;
  private server: WorkerServer | undefined;
  private sharing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RuntimeOptions = {}) {
    const config = opts.config ?? loadConfig();
    this.client = opts.client ?? dynamoClient();
    const roles = { master: true, worker: true, sweeper: true, scheduler: true, ...opts.roles };
    const log = opts.deps?.log ?? rootLog;
    this.invoker = new Invoker<Job>((job) => (roles.worker ? runAttempt(this.deps, job) : Promise.resolve()), log, opts.concurrency ?? 32);
    this.deps = {
      // Without the worker role and a dispatch of its own, this runtime drops what it dispatches (the sweeper
      // re-dispatches it): it leaves a new run's start to a master (`BATON_INLINE_START`) whose dispatch reaches a worker.
      db: new Db(documentClient(this.client), roles.worker || opts.deps?.dispatch ? config : { ...config, inlineStart: false }),
      executors: allExecutors,
      aws: lazyAwsClients(),
      localFunctions: lambdaMapFunctions(),
      now: Date.now,
      log,
      workerId: `local-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      dispatch: (job) => (this.workShare ? this.workShare.dispatch(job) : this.invoker.invoke(job)),
      timer: async (key, at) => this.schedule(key, at),
      // The poller reads the stream ahead for it (below), when this process is a master.
      images: roles.master ? new StreamImages().readAhead() : new StreamImages(),
      ...opts.deps,
    };
    if (roles.master) {
      this.poller = new StreamPoller({
        client: this.client,
        table: config.table,
        log,
        idleMs: opts.pollIdleMs,
        maxIdleMs: opts.pollMaxIdleMs ?? intSetting(process.env, 'BATON_POLL_MAX_IDLE_MS', 8 * (opts.pollIdleMs ?? 50), 1),
        checkpointFile: opts.streamCheckpoint,
        retryBaseMs: opts.streamRetryBaseMs ?? Number(process.env.BATON_STREAM_RETRY_BASE_MS ?? 100),
        onBatch: (records) => this.onBatch(records),
        // The master learns from the records after the batch in hand too (stream-images.ts).
        ahead: {
          wanted: () => this.deps.images?.awaited === true,
          note: (records, at) => this.deps.images?.noteRead(records as StreamRecord[], at),
        },
      });
    }
    this.roles = roles;
    this.maxAttempts = opts.streamMaxAttempts ?? maxRecordAttempts();
    if (this.poller) {
      // Each write of this process's own is on the stream once it returns: the poller reads it at once
      // instead of at the end of an idle pause, so it can pause longer while nothing happens.
      const poller = this.poller;
      this.client.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          if (WRITES.has(context.commandName ?? '')) poller.wake();
          return out;
        },
        { step: 'initialize', name: this.wakeName },
      );
    }
  }

  /** The name of the middleware that wakes this runtime's poller (removed from the client on stop). */
  private readonly wakeName = `batonStreamWake${Math.random().toString(36).slice(2, 10)}`;

  private readonly maxAttempts: number;

  private readonly roles: { master: boolean; worker: boolean; sweeper: boolean; scheduler: boolean };

  start(): this {
    const share = (this.opts.share ?? envFlag(process.env.BATON_SHARE_WORK, false)) && this.roles.master && this.roles.worker;
    if (share) {
      this.sharing = this.startSharing().catch((err) => {
        // Work alone rather than not at all: the other members' takeover covers what this one skips.
        this.deps.log.error({ err }, 'could not join the members sharing the table; working unshared');
        this.workShare = undefined;
        if (!this.stopped) this.poller?.start();
      });
    } else this.poller?.start();
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

  /**
   * Joins the members sharing the table: a loopback worker endpoint for jobs other members post here,
   * then the membership's first heartbeat, then the stream (so no record is filtered before the view is known).
   */
  private async startSharing(): Promise<void> {
    const env = process.env;
    const leaseMs = intSetting(env, 'BATON_MEMBER_LEASE_MS', 10_000, 100);
    const heartbeatMs = intSetting(env, 'BATON_MEMBER_HEARTBEAT_MS', 2000, 10);
    this.server = await startWorkerServer({ port: 0, accept: (job) => void this.invoker.invoke(job), log: this.deps.log });
    const membership = new Membership({
      db: this.deps.db,
      memberId: this.deps.workerId,
      url: this.server.url,
      log: this.deps.log,
      leaseMs,
      heartbeatMs,
    });
    this.workShare = new WorkShare({
      membership,
      log: this.deps.log,
      runHere: (job) => this.invoker.invoke(job),
      retake: (records) => this.retake(records),
      keepMs: Math.max(10_000, 3 * leaseMs + 2 * heartbeatMs),
    });
    this.membership = membership;
    await membership.start();
    if (!this.stopped) this.poller?.start();
  }

  /** Resolves once this runtime takes part in the work (at once, unless it shares work and is still joining). */
  ready(): Promise<void> {
    return this.sharing;
  }

  /** The URL other members post jobs to, when this runtime shares work. */
  get workerUrl(): string | undefined {
    return this.server?.url;
  }

  /** Handles records taken over from a member that left, retrying failures like the poller does (a few times, with backoff). */
  private async retake(records: _Record[]): Promise<void> {
    let failed = records;
    for (let retry = 0; failed.length > 0 && !this.stopped; retry++) {
      if (retry > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** retry)));
      failed = await this.handleBatch(failed);
      if (retry >= this.maxAttempts) break;
    }
  }

  /** Handles the records of a batch this process owns (all of them unless it shares work). */
  private onBatch(records: _Record[]): Promise<_Record[]> {
    return this.handleBatch(this.workShare ? this.workShare.select(records) : records);
  }

  /** Handles a batch; returns the records that failed, for the poller to retry (a partial batch failure). */
  private async handleBatch(records: _Record[]): Promise<_Record[]> {
    // The batch's images first: a record learns from the ones after it what was already done (stream-images.ts).
    noteBatch(this.deps, records as StreamRecord[]);
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
    this.client.middlewareStack.remove(this.wakeName);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.schedulerTimer) clearTimeout(this.schedulerTimer);
    for (const t of this.timers) clearTimeout(t);
    await this.sharing.catch(() => {});
    await Promise.all([this.poller?.stop(), this.invoker.close(), this.sweeping, this.ticking]);
    await this.workShare?.settled();
    // Leaving hands this share to the others at once; a job posted here meanwhile is dropped and re-dispatched by the sweeper.
    await this.membership?.stop();
    await this.server?.close();
  }
}
