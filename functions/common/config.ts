/**
 * Configuration, read once from the environment. Every knob has a documented default (see README,
 * "Configuration"); bad values fail loudly at cold start rather than misbehave later.
 */

/** An integer setting from `env`: `fallback` when unset or empty; anything but an integer >= `min` throws. */
export function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`environment variable ${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export interface BatonConfig {
  /** DynamoDB table name. */
  readonly table: string;
  /** How long a worker's claim on an attempt lasts without a heartbeat. */
  readonly leaseMs: number;
  /** A worker renews its lease this often. */
  readonly heartbeatMs: number;
  /** Losses (expired leases) tolerated per task before it fails with reason `lost`. */
  readonly maxLost: number;
  /** Shards of the due-time index, spread so that no single index partition runs hot. */
  readonly dueShards: number;
  /** How often a running run is checked for lost events (the run watchdog). */
  readonly watchdogMs: number;
  /** A suspended attempt with no timer of its own is re-checked this often. */
  readonly recheckMs: number;
  /** A running attempt checks this often whether its task was cancelled or taken from it (one eventually consistent read). */
  readonly cancelCheckMs: number;
  /** Largest JSON output a task may record. */
  readonly maxOutputBytes: number;
  /** Deepest sub-workflow nesting allowed. */
  readonly maxDepth: number;
  /** Finished runs and their tasks are deleted by DynamoDB TTL this long after they end; 0 keeps them. */
  readonly retentionDays: number;
  /** The worker that ends an attempt advances the run itself (0 leaves every advance to the master). */
  readonly inlineAdvance: boolean;
  /** How long after an inline ending the master waits for that advance before making it itself. */
  readonly inlineGraceMs: number;
  /**
   * Whoever creates a run nothing gates and can dispatch (the API; a worker starting a child run) queues
   * its roots and dispatches them itself, instead of leaving that to the master's handling of the
   * creation's stream record (0: the master starts every run).
   */
  readonly inlineStart: boolean;
  /** Eager dispatch (see `orchestrator/eager.ts`): most attempts one invocation runs after its own; 0 turns it off. */
  readonly eagerMaxSteps: number;
  /**
   * Most attempts one worker invocation runs at the same time (its own and the successors it started
   * eagerly): a fan-out's ready branches are claimed by the write that queues them, up to this many.
   */
  readonly eagerParallel: number;
  /** An attempt is started eagerly only while this much time (and at least its timeout) remains. */
  readonly eagerMinRemainingMs: number;
  /** Outside Lambda: the time a worker invocation allows itself for eager steps. */
  readonly eagerBudgetMs: number;
  /**
   * The claim window W (`orchestrator/worker.ts`, docs/performance.md "Claim window"): an attempt claimed
   * by the write that made it ready runs without a read after that claim when a run read sent with the
   * claim shows the run running and both answers were back within W / 2; a pause returns only W after its
   * write, and a cancel or a run timeout stops the run's work again W after the master saw it. 0: always
   * read after the claim (and pauses return at once). Must be the same in every process of a deployment.
   */
  readonly claimWindowMs: number;
  /**
   * The run read an attempt's claim was checked with is the view its ending's inline advance decides
   * from while the claim is younger than this (`AdvanceOptions.run`); older, the advance reads the run
   * again (with the ending's write). 0: always read again.
   */
  readonly advanceViewMaxAgeMs: number;
}

/** Reads the configuration from `env` (never from, or into, the global `process.env` unless it is passed). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BatonConfig {
  const int = (name: string, fallback: number, min?: number) => intSetting(env, name, fallback, min);
  const leaseMs = int('BATON_LEASE_MS', 30_000, 100);
  return {
    table: env.BATON_TABLE || 'baton',
    leaseMs,
    heartbeatMs: int('BATON_HEARTBEAT_MS', Math.max(50, Math.floor(leaseMs / 3)), 10),
    maxLost: int('BATON_MAX_LOST', 3, 1),
    dueShards: int('BATON_DUE_SHARDS', 4, 1),
    watchdogMs: int('BATON_WATCHDOG_MS', 300_000, 100),
    recheckMs: int('BATON_RECHECK_MS', 300_000, 100),
    cancelCheckMs: int('BATON_CANCEL_CHECK_MS', 2000, 50),
    maxOutputBytes: int('BATON_MAX_OUTPUT_BYTES', 256 * 1024, 1024),
    maxDepth: int('BATON_MAX_DEPTH', 10, 1),
    retentionDays: int('BATON_RUN_RETENTION_DAYS', 90, 0),
    inlineAdvance: int('BATON_INLINE_ADVANCE', 1, 0) > 0,
    inlineGraceMs: int('BATON_INLINE_GRACE_MS', 200, 0),
    inlineStart: int('BATON_INLINE_START', 1, 0) > 0,
    eagerMaxSteps: int('BATON_EAGER_MAX_STEPS', 8, 0),
    eagerParallel: int('BATON_EAGER_PARALLEL', 8, 1),
    eagerMinRemainingMs: int('BATON_EAGER_MIN_REMAINING_MS', 10_000, 0),
    eagerBudgetMs: int('BATON_EAGER_BUDGET_MS', 60_000, 0),
    claimWindowMs: int('BATON_CLAIM_WINDOW_MS', 1000, 0),
    advanceViewMaxAgeMs: int('BATON_ADVANCE_VIEW_MAX_AGE_MS', 1000, 0),
  };
}
