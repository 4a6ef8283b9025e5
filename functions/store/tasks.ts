import type { Db } from './db.js';
import { and, type Condition, notReset, whereEquals } from './expr.js';
import { type AttemptRecord, keys, type PromotedBy, TASK_SK_PREFIX, type TaskError, type TaskItem } from './items.js';
import { DUE_ATTRIBUTES, TABLE } from './table.js';

/**
 * Task transitions. Each is one conditional write on one task item, guarded by the state it moves
 * from; a caller whose view is stale (a duplicate delivery, a zombie holder, a second sweeper) gets
 * `undefined` back and must stop.
 */

const BLOCKED_OR_NEW: Condition = {
  expr: 'attribute_not_exists(#s) OR #s = :blocked',
  names: { '#s': 'status' },
  values: { ':blocked': 'blocked' },
};

const base = (runId: string, name: string) => ({ kind: 'task', runId, name });

/**
 * What a write that queues a task records beside the transition, in the same write: who queued it
 * (`promotedBy`, see `TaskItem`) and the workflow version the run pinned (so that a master re-driven
 * by the stream can find the task's successors without reading the run).
 */
export interface QueueInfo {
  readonly by: PromotedBy;
  readonly workflow?: string;
  readonly version?: number;
  /**
   * Leave the task out of the due index (2 index writes fewer per task: its entry and its removal).
   * Only the worker's inline advance asks for it, for the direct successors of the ending it just
   * recorded: the master re-processing that ending's stream record looks at them and sets a timer on
   * any still in flight (`orchestrator/overdue.ts`), which indexes it if it still is; the run watchdog
   * does the same. A task whose holder heartbeats is indexed by its first heartbeat.
   */
  readonly unindexed?: boolean;
  /** The `recoveries` of the caller's view of the run: `promote` refuses a task a newer recovery reset (`notReset`). */
  readonly seen?: number;
}

const queueInfo = (q?: QueueInfo) => (q ? { promotedBy: q.by, workflow: q.workflow, version: q.version } : {});

/** The due entry a queueing write gives the task: its claim deadline, unless the caller leaves it unindexed. */
const queueDue = (db: Db, key: { pk: string; sk: string }, now: number, q?: QueueInfo) =>
  q?.unindexed ? {} : db.due(key, now + db.config.leaseMs);

/**
 * Eager dispatch folded into the write that queues: the caller will run the attempt itself, so the
 * write that makes the task ready also claims it for `owner` (status `running`, fence 1 more, the lease
 * in the due index from `now`), one write instead of a queue and a claim. Recorded as `eager`.
 */
export interface EagerStart {
  readonly owner: string;
}

const heldBy = (db: Db, key: { pk: string; sk: string }, now: number, e: EagerStart, q?: QueueInfo) => ({
  status: 'running',
  owner: e.owner,
  claimedAt: now,
  attemptStartedAt: now,
  eager: true,
  ...queueDue(db, key, now, q),
});

/** Creates a task straight into `queued` (a root, or a task with one dependency). */
export async function queueNew(db: Db, runId: string, name: string, now: number, timeoutMs?: number, q?: QueueInfo, e?: EagerStart) {
  const key = keys.task(runId, name);
  const item = {
    ...key,
    ...base(runId, name),
    status: 'queued',
    attempt: 1,
    failures: 0,
    fence: 0,
    queuedAt: now,
    timeoutMs,
    ...queueInfo(q),
    ...queueDue(db, key, now, q),
    ...(e && { ...heldBy(db, key, now, e, q), fence: 1, startedAt: now }),
  };
  return (await db.create(item)) ? (item as unknown as TaskItem) : undefined;
}

/** How a dependency ended, as its successor records it (the set it is added to). */
export type DepOutcome = 'succeeded' | 'failed' | 'skipped';

const OUTCOME_SET = { succeeded: 'okDeps', failed: 'failedDeps', skipped: 'skippedDeps' } as const;

/**
 * Records that dependency `dep` of `name` ended with `outcome`, creating the task as `blocked` if it
 * is new. A dependency's outcome is derived from its own terminal item, so every delivery adds it to
 * the same sets: the write is idempotent. `skipReason` (why a task under the default join rule will
 * not run: a dependency that did not succeed, or a run that is ending) keeps the first one recorded.
 */
export function recordDep(db: Db, runId: string, name: string, dep: string, outcome: DepOutcome, skipReason?: TaskError, seen?: number) {
  const deps = new Set([dep]);
  return db.update<TaskItem>(
    keys.task(runId, name),
    {
      setIfMissing: { ...base(runId, name), status: 'blocked', attempt: 0, ...(skipReason && { skipReason }) },
      add: { doneDeps: deps, [OUTCOME_SET[outcome]]: deps },
    },
    and(BLOCKED_OR_NEW, ...notReset(seen)),
  );
}

/**
 * Counts one more ended dependency of a wide join (`orchestrator/counted-join.ts`), creating the task
 * as `blocked` if it is new. A plain `ADD` on a small item: its cost does not grow with the join's width.
 * Not idempotent on purpose (a redelivered ending counts again): the count only says when to read the
 * dependencies, and a stale count costs a read, never a wrong decision. `n`: endings counted at once.
 */
export function countDep(db: Db, runId: string, name: string, n = 1) {
  return db.update<TaskItem>(
    keys.task(runId, name),
    { setIfMissing: { ...base(runId, name), status: 'blocked', attempt: 0 }, add: { depCount: n } },
    BLOCKED_OR_NEW,
  );
}

/** Every task item of a run, in one paginated query of its partition (what a counted join decides from). */
export const runTasks = (db: Db, runId: string) => db.queryAll<TaskItem>(keys.run(runId).pk, TASK_SK_PREFIX);

/** Records that `dep` succeeded (see `recordDep`). */
export const addDoneDep = (db: Db, runId: string, name: string, dep: string) => recordDep(db, runId, name, dep, 'succeeded');

/** (new or blocked) → failed, before any attempt: its condition could not be evaluated. */
export function failUnstarted(db: Db, runId: string, name: string, now: number, error: TaskError, seen?: number) {
  return db.update<TaskItem>(
    keys.task(runId, name),
    { set: { ...base(runId, name), status: 'failed', endedAt: now, error, ...db.expiry(now) }, setIfMissing: { attempt: 0 } },
    and(BLOCKED_OR_NEW, ...notReset(seen)),
  );
}

/**
 * blocked → queued, once every dependency is done. The attempt number grows from the one the task
 * had (0 when new), so a task reset by a recovery runs under a new attempt and keeps its history.
 */
export function promote(db: Db, runId: string, name: string, now: number, timeoutMs?: number, q?: QueueInfo, e?: EagerStart) {
  // `q.seen`: see `notReset`.
  const key = keys.task(runId, name);
  const set = { status: 'queued', failures: 0, queuedAt: now, timeoutMs, ...queueInfo(q), ...queueDue(db, key, now, q) };
  return db.update<TaskItem>(
    key,
    e
      ? { set: { ...set, ...heldBy(db, key, now, e, q) }, setIfMissing: { startedAt: now }, add: { attempt: 1, fence: 1 } }
      : { set, setIfMissing: { fence: 0 }, add: { attempt: 1 } },
    and(whereEquals({ status: 'blocked' }), ...notReset(q?.seen)),
  );
}

/**
 * (new or blocked) → skipped: its join rule did not fire, its condition was false, or the run is
 * ending. `upstreamFailed` (a failure above it is why) is what its own successors' join rules see.
 */
export function skip(db: Db, runId: string, name: string, now: number, error: TaskError, upstreamFailed = false, seen?: number) {
  return db.update<TaskItem>(
    keys.task(runId, name),
    {
      set: { ...base(runId, name), status: 'skipped', endedAt: now, error, ...(upstreamFailed && { upstreamFailed }), ...db.expiry(now) },
      setIfMissing: { attempt: 0 },
    },
    and(BLOCKED_OR_NEW, ...notReset(seen)),
  );
}

/**
 * queued → running: a worker takes the attempt, and the fencing token grows. The lease is the due
 * time set when the attempt was queued; while most of it remains the claim leaves it (and so the due
 * index) alone, which saves two index writes per task. A claim that arrives late restarts the lease
 * in the same write, so it can never be reclaimable before its holder's first heartbeat.
 */
export async function claim(db: Db, runId: string, name: string, attempt: number, owner: string, now: number, dueAt?: number) {
  const key = keys.task(runId, name);
  // `eager` marks an attempt claimed by the write that queued it (`EagerStart`); a claim is a dispatch.
  const spec = {
    set: { status: 'running', owner, claimedAt: now },
    setIfMissing: { attemptStartedAt: now, startedAt: now },
    add: { fence: 1 },
    remove: ['eager'],
  };
  const queued = whereEquals({ status: 'queued', attempt });
  // An unindexed attempt (`QueueInfo.unindexed`) has no lease to restart: its claim is its start. A held
  // one (a paused run's, also out of the index) is claimed late, so that its claim puts it back in.
  const fresh = {
    expr: '(attribute_not_exists(#d) AND attribute_not_exists(#h)) OR #d > :t',
    names: { '#d': TABLE.dueAt, '#h': 'held' },
    values: { ':t': now + db.config.leaseMs / 2 },
  };
  // `dueAt`: the due time the dispatcher saw; when that lease is already half gone, go straight to the
  // late claim rather than bill a fresh claim that its condition refuses.
  const late = dueAt !== undefined && dueAt <= now + db.config.leaseMs / 2;
  const kept = late ? undefined : await db.update<TaskItem>(key, spec, and(queued, fresh));
  if (kept) return kept;
  return db.update<TaskItem>(key, { ...spec, set: { ...spec.set, ...db.due(key, now + db.config.leaseMs) } }, queued);
}

/** An attempt in flight that no due entry covers (a paused run's held attempts are the resume's to release). */
export const unindexedInFlight = (t: Pick<TaskItem, 'status' | 'dueAt' | 'held'>): boolean =>
  (t.status === 'queued' || t.status === 'running') && t.dueAt === undefined && !t.held;

/**
 * Puts an attempt that was left out of the due index (`QueueInfo.unindexed`) into it at `at`: its claim
 * deadline if queued, its lease's end if running (from `queuedAt` or `claimedAt`). Guarded by the state
 * it was read in (status, attempt, fence) and by its still having no entry, so a claim, an ending or a
 * heartbeat that came first wins and this write does nothing (`orchestrator/overdue.ts`).
 */
export function indexOverdue(db: Db, t: Pick<TaskItem, 'runId' | 'name' | 'status' | 'attempt' | 'fence'>, at: number) {
  const key = keys.task(t.runId, t.name);
  const unindexed: Condition = { expr: 'attribute_not_exists(#d)', names: { '#d': TABLE.dueAt } };
  return db.update<TaskItem>(
    key,
    { set: db.due(key, at) },
    and(whereEquals({ status: t.status, attempt: t.attempt, fence: t.fence }), unindexed),
  );
}

/** Sets the attempt's deadline the first time it is claimed (a resumed attempt keeps its own). */
export function setDeadline(db: Db, t: TaskItem, deadline: number) {
  return db.update<TaskItem>(keys.task(t.runId, t.name), { setIfMissing: { deadline } }, holds(t));
}

/** Extends the holder's lease. Fails once the lease was reclaimed or the attempt moved on. */
export function heartbeat(db: Db, t: TaskItem, expiresAt: number) {
  const key = keys.task(t.runId, t.name);
  return db.update<TaskItem>(key, { set: db.due(key, expiresAt) }, holds(t));
}

/** The condition every write of a lease holder carries: still running, same fencing token. */
export function holds(t: Pick<TaskItem, 'fence'>): Condition {
  return whereEquals({ status: 'running', fence: t.fence });
}

/** A holder may suspend only if nothing it waits for arrived meanwhile (see `requestWake`). */
export const NOT_WOKEN: Condition = { expr: 'attribute_not_exists(#w)', names: { '#w': 'wakeRequested' } };

/** How an attempt ends, as decided by the worker (or by the sweeper for a dead worker). */
export type Ending =
  | { kind: 'succeeded'; output: unknown; inline?: boolean }
  | { kind: 'failed'; error: TaskError; inline?: boolean }
  | { kind: 'retry'; error: TaskError; at: number }
  | { kind: 'suspend'; at: number; state: unknown };

/** The history entry of the holder's attempt `t` as it ends (or is lost) at `now`. */
function attemptRecord(t: TaskItem, status: AttemptRecord['status'], now: number, error?: TaskError): AttemptRecord {
  return {
    attempt: t.attempt,
    status,
    fence: t.fence,
    startedAt: t.attemptStartedAt,
    claimedAt: t.claimedAt,
    confirmedAt: t.confirmedAt,
    ...(t.windowed && { windowed: true }),
    endedAt: now,
    worker: t.owner,
    error,
  };
}

/** Applies an ending to the attempt, guarded by `guard` (the holder's fence, or the sweeper's view). */
export function finishAttempt(db: Db, t: TaskItem, ending: Ending, now: number, guard: Condition) {
  const key = keys.task(t.runId, t.name);
  const record = (status: AttemptRecord['status'], error?: TaskError): AttemptRecord[] => [attemptRecord(t, status, now, error)];
  const leaseless = ['owner', ...DUE_ATTRIBUTES, 'wake', 'wakeRequested'];
  // Marks an ending whose writer advances the run itself (see `TaskItem.inlineAdvance`).
  const inline = (e: { inline?: boolean }) => (e.inline ? { inlineAdvance: true } : {});
  switch (ending.kind) {
    case 'succeeded':
      return db.update<TaskItem>(
        key,
        {
          set: { status: 'succeeded', output: ending.output, endedAt: now, ...inline(ending), ...db.expiry(now) },
          append: { attempts: record('succeeded') },
          remove: [...leaseless, 'state', 'error'],
        },
        guard,
      );
    case 'failed':
      return db.update<TaskItem>(
        key,
        {
          set: { status: 'failed', error: ending.error, endedAt: now, ...inline(ending), ...db.expiry(now) },
          add: { failures: 1 },
          append: { attempts: record('failed', ending.error) },
          remove: [...leaseless, 'state'],
        },
        guard,
      );
    case 'retry':
      return db.update<TaskItem>(
        key,
        {
          set: { status: 'waiting', wake: 'retry', error: ending.error, ...db.due(key, ending.at) },
          add: { failures: 1 },
          append: { attempts: record('failed', ending.error) },
          remove: ['owner', 'state', 'deadline', 'attemptStartedAt', 'wakeRequested'],
        },
        guard,
      );
    case 'suspend':
      return db.update<TaskItem>(
        key,
        { set: { status: 'waiting', wake: 'resume', state: ending.state, ...db.due(key, ending.at) }, remove: ['owner', 'wakeRequested'] },
        guard,
      );
  }
}

/** waiting → queued: a retry becomes due (next attempt) or a suspended attempt resumes (same attempt). */
export function wake(db: Db, t: Pick<TaskItem, 'runId' | 'name' | 'attempt' | 'wake'>, now: number) {
  const key = keys.task(t.runId, t.name);
  const retry = t.wake === 'retry';
  return db.update<TaskItem>(
    key,
    {
      set: { status: 'queued', queuedAt: now, attempt: retry ? t.attempt + 1 : t.attempt, ...db.due(key, now + db.config.leaseMs) },
      remove: ['wake'],
    },
    whereEquals({ status: 'waiting', attempt: t.attempt, wake: t.wake }),
  );
}

/** A queued attempt nobody claimed in time: push its due time and dispatch it again. */
export function redispatch(db: Db, t: TaskItem, now: number) {
  const key = keys.task(t.runId, t.name);
  return db.update<TaskItem>(
    key,
    { set: db.due(key, now + db.config.leaseMs) },
    whereEquals({ status: 'queued', attempt: t.attempt, dueAt: t.dueAt }),
  );
}

/**
 * A running attempt whose lease expired: record the loss and queue the same attempt again, for a new
 * holder (the fence grows at its claim, so the old holder's writes fail). The attempt keeps its number,
 * idempotency key, deadline and executor state, so a new holder continues it (a sub-workflow adopts the
 * child it already started) instead of starting it over. Losses do not use the retry budget; past the
 * cap the task fails with reason `lost`.
 */
export function reclaimLost(db: Db, t: TaskItem, now: number) {
  const key = keys.task(t.runId, t.name);
  const lost = (t.lost ?? 0) + 1;
  const error: TaskError = {
    reason: 'lost',
    message: `lease of attempt ${t.attempt} (fence ${t.fence}) expired; holder ${t.owner ?? '?'}`,
  };
  const rec: AttemptRecord[] = [attemptRecord(t, 'lost', now, error)];
  const guard = and(holds(t), { expr: '#d <= :now', names: { '#d': TABLE.dueAt }, values: { ':now': now } });
  if (lost >= db.config.maxLost) {
    return db.update<TaskItem>(
      key,
      {
        set: { status: 'failed', endedAt: now, error: { ...error, message: `${error.message}; lost ${lost} times` }, ...db.expiry(now) },
        add: { lost: 1 },
        append: { attempts: rec },
        remove: ['owner', ...DUE_ATTRIBUTES, 'state', 'wakeRequested'],
      },
      guard,
    );
  }
  return db.update<TaskItem>(
    key,
    {
      set: { status: 'queued', queuedAt: now, ...db.due(key, now + db.config.leaseMs) },
      add: { lost: 1 },
      append: { attempts: rec },
      remove: ['owner'],
    },
    guard,
  );
}

/**
 * Something the running attempt may be about to wait for has happened (a child finished, a callback
 * arrived). The holder sees the flag when it tries to suspend, and wakes at once instead.
 */
export function requestWake(db: Db, runId: string, name: string, attempt: number) {
  return db.update<TaskItem>(keys.task(runId, name), { set: { wakeRequested: true } }, whereEquals({ status: 'running', attempt }));
}

/** A task item; `consistent: false` reads it at half the units, possibly a moment behind its last write. */
export const getTask = (db: Db, runId: string, name: string, consistent = true) => db.get<TaskItem>(keys.task(runId, name), consistent);

/**
 * Records a finished sink on the run's join item; returns the set of sinks finished so far, or undefined
 * when a recovery newer than the caller's view (`seen`, see `notReset`) already forgot the recovered sinks.
 */
export async function addSinkDone(db: Db, runId: string, sink: string, now: number, seen?: number): Promise<Set<string> | undefined> {
  const r = await db.update<{ doneDeps?: Set<string> }>(
    keys.end(runId),
    { set: { kind: 'end', runId, ...db.expiry(now) }, add: { doneDeps: new Set([sink]) } },
    notReset(seen)[0],
  );
  if (!r) return undefined;
  return r.doneDeps ?? new Set();
}

/** The sinks recorded on the run's join item so far (a read: see `addSinkDone`). */
export async function getSinksDone(db: Db, runId: string): Promise<Set<string>> {
  const r = await db.get<{ doneDeps?: Set<string> }>(keys.end(runId));
  return r?.doneDeps ?? new Set();
}
