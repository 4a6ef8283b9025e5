import { z } from 'zod';
import type { DependentConfig } from '../engine/definition/dependent.js';
import type { FailureReason } from '../engine/failure-reason.js';
import type { AwsClients } from './aws-clients.js';
import type { LocalFunctions } from './local-function.js';

/** What a task attempt ended with, as reported by its executor. */
export type Outcome =
  | { readonly status: 'succeeded'; readonly output?: unknown }
  | {
      readonly status: 'failed';
      readonly reason: FailureReason;
      readonly message: string;
      /** With reason `callback`: the reporter's own reason, kept beside Baton's. */
      readonly callbackReason?: string;
      /** false: do not retry, whatever the task's retry policy says. Default true. */
      readonly retryable?: boolean;
    }
  | {
      /** The attempt is not finished: wake it again at `until` (epoch ms) or when something external wakes it. */
      readonly status: 'suspended';
      readonly until?: number;
      /** Saved on the task and handed back as `state` when the attempt resumes. */
      readonly state?: unknown;
    };

export interface ExecContext<C> {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  /** Stable for one attempt: `${runId}/${task}/${attempt}`. Targets use it to deduplicate. */
  readonly idempotencyKey: string;
  /** The task's fields after templating, parsed by the executor's schema. */
  readonly config: C;
  /** Aborted when the attempt times out or its lease is lost. */
  readonly signal: AbortSignal;
  /** State saved by a previous suspension of this same attempt, if any. */
  readonly state: unknown;
  /** Epoch ms at which this attempt was first claimed. */
  readonly startedAt: number;
  readonly now: () => number;
  /** Starts or adopts this attempt's one child run (for the `subworkflow` type). */
  readonly children: ChildService;
  /** Mints this attempt's callback token (for types an external system completes, `lambda` async). */
  readonly callbacks: CallbackMinter;
  /** Finds the run a `dependent` attempt waits for (absent where no run is at hand, as in executor unit tests). */
  readonly dependencies?: DependencyService;
  /** The AWS SDK clients (for the `lambda` and `stepfunctions` types). */
  readonly aws: AwsClients;
  /** In-process stand-ins for Lambda functions: the local runtime's; absent in AWS. */
  readonly localFunctions?: LocalFunctions;
}

/** Mints the token an external system completes one attempt with (`POST /callbacks/{token}`). */
export interface CallbackMinter {
  /** A new token, and the hash of it that the attempt's state keeps (never the token itself). */
  mint(): { readonly token: string; readonly tokenHash: string };
}

/** What a parent task sees of its child run. */
export interface ChildState {
  readonly runId: string;
  readonly status: 'pending' | 'queued' | 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
  readonly output?: unknown;
  readonly failure?: { readonly task: string; readonly reason: FailureReason; readonly message: string };
}

export interface ChildService {
  /**
   * The one child run of this attempt: created by the first call (linkage first, then the run, both
   * conditional), adopted by every later call, whoever makes it.
   */
  ensure(req: { readonly workflow: string; readonly version?: number; readonly params: unknown }): Promise<ChildState>;
}

/** The run a `dependent` attempt found: which one, how it ended, and the logical time it stands for (epoch ms). */
export interface DependencyMatch {
  readonly runId: string;
  readonly workflow: string;
  readonly status: string;
  readonly logicalTime: number;
  readonly endedAt?: number;
}

export interface DependencyService {
  /**
   * A run that satisfies `config` (relative to this attempt's run), or undefined once this attempt is
   * registered as a waiter, so that such a run ending wakes it. Throws a `BatonError` with code
   * `not_found` when the workflow does not exist.
   */
  find(config: DependentConfig): Promise<DependencyMatch | undefined>;
}

/** One task type. Adding a type means adding one module that exports one of these, and registering it. */
export interface Executor<C = unknown> {
  readonly type: string;
  /**
   * Schema of the type's fields. It is applied to the raw definition (where any field may instead be a
   * template string, see `templated`) and again to the rendered config before each attempt.
   */
  readonly schema: z.ZodType<C>;
  /**
   * `resolve` (default): `${secrets.NAME}` in the fields becomes the value, and the value is scrubbed
   * from what the attempt records. `pass`: references stay references (the `subworkflow` type).
   */
  readonly secrets?: 'resolve' | 'pass';
  execute(ctx: ExecContext<C>): Promise<Outcome>;
  /**
   * Stops the external work a suspended (waiting) attempt left running, when its run is cancelled or
   * times out; best effort and idempotent (a Step Functions execution is stopped). A running attempt is
   * stopped through `signal` instead.
   */
  cancel?(ctx: CancelContext): Promise<void>;
}

/** What `Executor.cancel` knows of the waiting attempt it stops. */
export interface CancelContext {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  readonly state: unknown;
  readonly aws: AwsClients;
}

const TEMPLATE = /\$\{[^}]+\}/;

/** A field that may hold its value directly or a `${...}` template that renders to it at run time. */
export function templated<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.string().regex(TEMPLATE, 'a template such as ${params.x}')]);
}
