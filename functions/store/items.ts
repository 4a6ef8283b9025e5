import { createHash } from 'node:crypto';
import type { FailureReason } from '../engine/failure-reason.js';
import { MAP_CONTROL_SK, mapItemSk, mapPartition, parseMapItemName } from './map-names.js';

/** Sort-key prefix of a run's child links. */
export const CHILD_SK_PREFIX = 'CHILD#';

/** Key layout of the single table. Nothing outside `store/` builds keys by hand. */
/** The sort-key prefix of a run's task items (map items live in partitions of their own). */
export const TASK_SK_PREFIX = 'TASK#';

export const keys = {
  run: (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' }),
  task: (runId: string, task: string) => {
    const item = parseMapItemName(task);
    if (item) return { pk: mapPartition(runId, item.map, item.attempt), sk: mapItemSk(item.index) };
    return { pk: `RUN#${runId}`, sk: `${TASK_SK_PREFIX}${task}` };
  },
  /** A map attempt's control item: its item count, counters and concurrency slots. */
  mapControl: (runId: string, map: string, attempt: number) => ({ pk: mapPartition(runId, map, attempt), sk: MAP_CONTROL_SK }),
  /** The run's join point: collects its sink tasks as they finish. */
  end: (runId: string) => ({ pk: `RUN#${runId}`, sk: 'END' }),
  child: (runId: string, task: string, attempt: number) => ({
    pk: `RUN#${runId}`,
    sk: `${CHILD_SK_PREFIX}${task}#${String(attempt).padStart(4, '0')}`,
  }),
  definition: (name: string, version: number) => ({ pk: `DEF#${name}`, sk: `V#${String(version).padStart(10, '0')}` }),
  workflow: (name: string) => ({ pk: 'WORKFLOWS', sk: name }),
};

/**
 * `paused`: running attempts finish, nothing new is claimed; work that becomes ready is held (see `hold`).
 * `pending`: created, waiting for a slot under the workflow's `concurrency: queue` policy (not started).
 * `skipped`: terminal, never started: the workflow's `concurrency: skip` policy found it full (`skipReason`).
 */
export type RunStatus = 'pending' | 'queued' | 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
export type TaskStatus = 'blocked' | 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export const TERMINAL_TASK: ReadonlySet<string> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
export const TERMINAL_RUN: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

export interface TaskError {
  readonly reason: FailureReason;
  readonly message: string;
  /** With reason `callback`: the reason the reporter gave in its own words (never a Baton reason). */
  readonly callbackReason?: string;
}

/**
 * What started a run (shown as `trigger` by `GET /runs/{id}`): `api` (`identity` in AWS), `schedule`
 * (`scheduleId`, `fireTime` ISO-8601, `misfired?`, `misfiredCount?`), `backfill` (`backfillId`,
 * `fireTime`), `parent` (`runId`, `task`, `attempt`), `rerun` (`of`: the run it repeats).
 */
export interface Trigger {
  readonly type: 'api' | 'schedule' | 'backfill' | 'parent' | 'rerun';
  readonly [k: string]: unknown;
}

export interface ParentLink {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
}

export interface RunItem {
  readonly pk: string;
  readonly sk: 'RUN';
  readonly kind: 'run';
  readonly runId: string;
  readonly workflow: string;
  readonly version: number;
  readonly params: Record<string, unknown>;
  readonly status: RunStatus;
  readonly createdAt: number;
  readonly startedAt?: number;
  /**
   * Created running by a writer that queues its roots itself right after (`run-start.ts startInline`):
   * the master's handling of the creation's record checks that it did, and does only what is missing.
   */
  readonly inlineStart?: boolean;
  readonly endedAt?: number;
  readonly trigger: Trigger;
  readonly parent?: ParentLink;
  readonly depth: number;
  /** Workflows of the ancestors of a child run, root first: what recursion is checked against. */
  readonly lineage?: string[];
  readonly failure?: TaskError & { readonly task: string };
  readonly output?: unknown;
  /**
   * Set instead of `output` when the collected output would not fit the run item (see
   * `orchestrator/run-output.ts`): the output is `{ sink: its output }` for these sinks, read from their task items.
   */
  readonly outputFrom?: readonly string[];
  readonly cancelReason?: string;
  /** Set when the run failed because it ran past its own `timeout` (its work is then stopped as for a cancel). */
  readonly timedOutAt?: number;
  /**
   * A cancelled or timed-out run whose work `stopWork` stops a second time when its due time comes
   * (`orchestrator/claim-window.ts`); cleared by that pass.
   */
  readonly stopAgain?: boolean;
  readonly idempotencyKey?: string;
  readonly requestDigest?: string;
  readonly dueAt?: number;
  /** Why a `skipped` run never started. */
  readonly skipReason?: string;
  readonly pausedAt?: number;
  /** How many times the run was recovered (`POST /runs/{id}/recover`). */
  readonly recoveries?: number;
  /** The latest recovery: its number, the tasks it re-runs, and the request's Idempotency-Key. */
  readonly recovery?: Recovery;
}

/** A recovery of a run, stored on the run item by the write that starts it, so that it can be re-driven. */
export interface Recovery {
  readonly n: number;
  readonly tasks: string[];
  readonly key?: string;
  readonly at: number;
}

/** One finished (or lost) attempt, kept on the task for history. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly status: 'succeeded' | 'failed' | 'lost';
  /** The holder's fencing token: a lost attempt and its successor share the attempt number, not the fence. */
  readonly fence?: number;
  readonly startedAt?: number;
  /**
   * When this record's holder began. A holder claims, then reads the run: the lease begins at that read,
   * which found the run neither paused nor ended, between `claimedAt` (the claim had returned) and
   * `confirmedAt` (the read had). A holder that never got that far has only the claim's time. `startedAt`
   * is the attempt's first claim and survives a lost lease (the attempt continues); these are this lease's.
   */
  readonly claimedAt?: number;
  readonly confirmedAt?: number;
  /**
   * The lease was confirmed through the claim window (`orchestrator/claim-window.ts`): `claimedAt` is when
   * the claim and its run read were sent, `confirmedAt` when both answers were in, less than W/2 later.
   */
  readonly windowed?: boolean;
  readonly endedAt: number;
  readonly worker?: string;
  readonly error?: TaskError;
  /** Marked succeeded by an operator (`POST /runs/{id}/tasks/{task}/complete`), not run. */
  readonly marked?: boolean;
}

/** Which actor's write queued a task from `blocked` or new: see `TaskItem.promotedBy`. */
/** `creator`: the writer that created the run queued its roots (inline start: the API, or the worker starting a child). */
export type PromotedBy = 'worker' | 'master' | 'sweeper' | 'creator';

export interface TaskItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'task';
  readonly runId: string;
  readonly name: string;
  readonly status: TaskStatus;
  /** Attempt number; every attempt, lost ones included, gets a new one. */
  readonly attempt: number;
  /** Attempts that failed (not lost): what the retry policy counts. */
  readonly failures?: number;
  readonly lost?: number;
  /** Fencing token: grows on every claim and every reclaim; a holder writes only while it matches. */
  readonly fence?: number;
  readonly owner?: string;
  readonly dueAt?: number;
  readonly doneDeps?: Set<string>;
  /** Of `doneDeps`, by how each ended as this task sees it (join rules): succeeded, failed (or upstream failed), skipped. */
  readonly okDeps?: Set<string>;
  readonly failedDeps?: Set<string>;
  readonly skippedDeps?: Set<string>;
  /**
   * A wide join's count of dependency endings told to it (`orchestrator/counted-join.ts`): a hint that
   * says when to look at the dependencies themselves, never the decision (a redelivery may count twice).
   */
  readonly depCount?: number;
  /** Skipped because a failure above it left it unable to run (Airflow's `upstream_failed`). */
  readonly upstreamFailed?: boolean;
  /** Why a blocked task will be skipped once all of its dependencies have ended (the first reason recorded). */
  readonly skipReason?: TaskError;
  readonly output?: unknown;
  readonly error?: TaskError;
  readonly attempts?: AttemptRecord[];
  readonly queuedAt?: number;
  readonly startedAt?: number;
  readonly attemptStartedAt?: number;
  /** When the current holder claimed the attempt (set at every claim, unlike `attemptStartedAt`). */
  readonly claimedAt?: number;
  /** Held in memory only, by the holder: see `AttemptRecord.confirmedAt`. */
  readonly confirmedAt?: number;
  /** Held in memory only, by the holder: see `AttemptRecord.windowed`. */
  readonly windowed?: boolean;
  readonly deadline?: number;
  readonly endedAt?: number;
  readonly wake?: 'retry' | 'resume';
  readonly state?: unknown;
  readonly timeoutMs?: number;
  /** Set when an awaited event arrived while the attempt was running; it must not suspend. */
  readonly wakeRequested?: boolean;
  /** A queued attempt held because its run is paused: out of the due index until the run resumes. */
  readonly held?: boolean;
  /** The number of the last recovery that reset this task. */
  readonly recovered?: number;
  /**
   * Who queued the task, written by the write that queued it: `worker` (the invocation that ended a
   * dependency advanced the run inline), `master` (a stream record, a run start, a recovery), `sweeper`
   * (the run watchdog re-drove a lost advance). A `master` promotion put a stream hop on the path.
   */
  readonly promotedBy?: PromotedBy;
  /** The workflow and version of the run, carried from the write that queued the task (see `QueueInfo`). */
  readonly workflow?: string;
  readonly version?: number;
  /** Set by an ending whose writer advances the run itself: the master re-driven by its record reads before it writes. */
  readonly inlineAdvance?: boolean;
  /** Claimed by the invocation that queued it (eager dispatch), not through a dispatch. */
  readonly eager?: boolean;
}

export interface ChildLinkItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'child';
  readonly parentRunId: string;
  readonly task: string;
  readonly attempt: number;
  readonly childRunId: string;
  readonly workflow: string;
  readonly createdAt: number;
}

/** Which shard of the due index an item lives in: stable per item, spread over `shards`. */
export function dueShard(pk: string, sk: string, shards: number): string {
  const h = createHash('md5').update(`${pk}|${sk}`).digest().readUInt32BE(0);
  return dueShardName(h % shards);
}

/** The partition key of shard `i` of the due index. */
export const dueShardName = (i: number): string => `DUE#${i}`;
