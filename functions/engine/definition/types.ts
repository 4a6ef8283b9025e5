import type { NotifySpec } from './notify.js';
/** The validated, normalised shape of a workflow definition. This is what is stored and what the engine reads. */

import type { TriggerRule } from '../flow/join-rule.js';

export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';

export interface ParamSpec {
  readonly type: ParamType;
  readonly required: boolean;
  readonly default?: unknown;
  readonly description?: string;
}

export interface RetryPolicy {
  /** Total attempts, including the first. 1 means no retry. */
  readonly attempts: number;
  readonly delayMs: number;
  readonly backoff: 'fixed' | 'exponential';
  readonly maxDelayMs: number;
}

export interface TaskSpec {
  readonly type: string;
  /** Names of the tasks this one depends on. */
  readonly after: readonly string[];
  readonly retry: RetryPolicy;
  /** Per-attempt timeout; absent means none. */
  readonly timeoutMs?: number;
  /** JSONata condition evaluated once the join rule lets the task run; false skips it (`condition`). */
  readonly when?: string;
  /** Join rule; absent means `all_succeeded`. */
  readonly trigger?: TriggerRule;
  /** The pool whose slots the task runs under (orchestrator/pools.ts); absent means none. */
  readonly pool?: string;
  /** Slots of `pool` the task holds while it runs; 1 unless given. */
  readonly poolSlots?: number;
  /** Wake-up order among a pool's waiting tasks, higher first; 0 unless given. */
  readonly priority?: number;
  /** The type's own fields (everything that is not an engine key), still templated. */
  readonly config: Readonly<Record<string, unknown>>;
}

export type FailureStrategy = 'end' | 'continue';

/**
 * Runs of one workflow at the same time, whatever started them: `allow` (no limit), `skip` (a run
 * that finds `limit` runs active ends at once as `skipped`), `queue` (at most `limit` active, the rest
 * wait as `pending` and start oldest first).
 */
export interface ConcurrencyPolicy {
  readonly policy: 'allow' | 'skip' | 'queue';
  /** Active runs allowed (skip and queue); 1 unless given. */
  readonly limit: number;
}

export interface WorkflowDefinition {
  readonly name: string;
  readonly description?: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  readonly failureStrategy: FailureStrategy;
  /** Absent means `allow`. */
  readonly concurrency?: ConcurrencyPolicy;
  /** Run-level timeout (ms from the run's start): the run fails with reason `timeout` and its work is stopped. */
  readonly timeoutMs?: number;
  /** Run-level SLA (ms from the run's start): a run not finished by then emits `sla_missed` once and keeps running. */
  readonly slaMs?: number;
  /** Webhooks told of the run's events (`docs/events.md`). */
  readonly notify?: readonly NotifySpec[];
  readonly tasks: Readonly<Record<string, TaskSpec>>;
}

/** One validation problem, with the path of the offending field (e.g. `tasks.extract.after[0]`). */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: ValidationIssue[] };
