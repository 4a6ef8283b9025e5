import { loadConfig } from '../common/config.js';
import { type Logger, log } from '../common/logger.js';
import type { Counters } from '../common/metrics.js';
import { documentClient } from '../store/client.js';
import { Db, type Key } from '../store/db.js';
import { StreamImages } from '../store/stream-images.js';
import { type AwsClients, lazyAwsClients } from '../tasks/aws-clients.js';
import type { Executor } from '../tasks/executor.js';
import type { LocalFunctions } from '../tasks/local-function.js';
import { executors } from '../tasks/registry.js';
import type { SecretSource } from '../tasks/secrets/source.js';
import type { BatonEvent } from './events/shapes.js';

/** One attempt to run: what the master hands a worker (an async Lambda event, or an in-process call). */
export interface Job {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  /**
   * The due time the attempt was queued with, when the dispatcher knows it: the claim then knows
   * whether the queued lease is still fresh and makes one write instead of trying a fresh claim that
   * fails its condition (billed) when the job waited long. A hint only: both claims are conditional.
   */
  readonly dueAt?: number;
}

/** Everything the orchestrator touches outside its own code. Tests and the local runtime swap parts. */
export interface Deps {
  readonly db: Db;
  /** Hands an attempt to a worker, asynchronously. Must not run the attempt inline. */
  readonly dispatch: (job: Job) => Promise<void>;
  /** Asks for a wake-up of the item at `at` (a finer timer than the sweeper's tick). Best effort. */
  readonly timer: (key: Key, at: number) => Promise<void>;
  readonly executors: Readonly<Record<string, Executor<any>>>;
  readonly now: () => number;
  readonly log: Logger;
  /** Identifies this process as a lease owner. */
  readonly workerId: string;
  /** Where `${secrets.NAME}` values come from; default `defaultSecretSource()` (from the environment). */
  readonly secrets?: SecretSource;
  /** The AWS SDK clients the task types call. */
  readonly aws: AwsClients;
  /** Publishes run and task events (EventBridge `PutEvents` in AWS); absent: events are only logged and sent to webhooks. */
  readonly publish?: (events: readonly BatonEvent[]) => Promise<void>;
  /** In-process stand-ins for Lambda functions (the local runtime only). */
  readonly localFunctions?: LocalFunctions;
  /** Where alarmed counts go (EMF in AWS); absent locally. */
  readonly metrics?: Counters;
  /**
   * The newest stream images of recent items this process's master received (`stream-images.ts`): what
   * lets it re-process an inline ending without reading the successors. Absent: it reads them.
   */
  readonly images?: StreamImages;
}

/** Defaults for a Lambda environment; `dispatch` and `timer` come from the handler that knows its AWS wiring. */
export function defaultDeps(over: Partial<Deps> & Pick<Deps, 'dispatch'>): Deps {
  return {
    db: over.db ?? new Db(documentClient(), loadConfig()),
    timer: async () => {},
    executors,
    aws: lazyAwsClients(),
    now: Date.now,
    log,
    workerId: `${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'proc'}:${process.pid}`,
    images: new StreamImages(),
    ...over,
  };
}
