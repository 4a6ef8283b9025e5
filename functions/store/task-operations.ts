import type { Db } from './db.js';
import { and, type Condition, whereEquals } from './expr.js';
import { type AttemptRecord, keys, type TaskError, type TaskItem } from './items.js';
import { DUE_ATTRIBUTES } from './table.js';
import { holds } from './tasks.js';

/**
 * Task transitions behind the day-2 operations (pause, recover, mark success, cancel). Like every task
 * transition, each is one conditional write on one task item, guarded by the state it moves from.
 */

/**
 * A claimed attempt whose run turned out to be paused: running → queued and held, guarded by the
 * holder's fence. A held attempt leaves the due index (nothing re-dispatches it) until the run resumes.
 * The start times that this claim set are removed, so that the attempt shows as never started.
 */
export function hold(db: Db, t: TaskItem, claimedAt: number) {
  const fresh = [t.attemptStartedAt === claimedAt ? 'attemptStartedAt' : '', t.startedAt === claimedAt ? 'startedAt' : ''];
  return db.update<TaskItem>(
    keys.task(t.runId, t.name),
    { set: { status: 'queued', held: true }, remove: ['owner', ...DUE_ATTRIBUTES, ...fresh.filter(Boolean)] },
    holds(t),
  );
}

/** A held attempt of a run that resumed: back into the due index, ready to be dispatched. */
export function unhold(db: Db, t: Pick<TaskItem, 'runId' | 'name' | 'attempt'>, now: number) {
  const key = keys.task(t.runId, t.name);
  return db.update<TaskItem>(
    key,
    { set: { queuedAt: now, ...db.due(key, now + db.config.leaseMs) }, remove: ['held'] },
    whereEquals({ status: 'queued', attempt: t.attempt, held: true }),
  );
}

/**
 * Resets a task for recovery `n`: back to `blocked`, knowing only the dependencies that stay done
 * (`kept`). Attempt number and history stay; output, error and lease go. At most once per recovery:
 * a re-driven recovery finds `recovered = n` and leaves a task that already moved on alone. A holder
 * still running an attempt is fenced out (its writes need `running`).
 */
export function resetForRecovery(db: Db, runId: string, name: string, n: number, kept: string[]) {
  const fresh: Condition = { expr: 'attribute_not_exists(#r) OR #r < :n', names: { '#r': 'recovered' }, values: { ':n': n } };
  return db.update<TaskItem>(
    keys.task(runId, name),
    {
      // The kept dependencies succeeded (recover requires it): they are the only outcomes the join rule keeps.
      // depCount: what a counted join (orchestrator/counted-join.ts) has been told, as for doneDeps.
      set: {
        status: 'blocked',
        recovered: n,
        depCount: kept.length,
        ...(kept.length > 0 ? { doneDeps: new Set(kept), okDeps: new Set(kept) } : {}),
      },
      setIfMissing: { kind: 'task', runId, name, attempt: 0 },
      remove: [
        ...(kept.length > 0 ? [] : ['doneDeps', 'okDeps']),
        ...['failedDeps', 'skippedDeps', 'upstreamFailed'],
        ...['output', 'error', 'endedAt', 'expiresAt', 'skipReason', ...DUE_ATTRIBUTES, 'owner', 'wake', 'wakeRequested'],
        ...['state', 'deadline', 'attemptStartedAt', 'held', 'lost'],
      ],
    },
    fresh,
  );
}

/** Forgets recovered sinks on the run's join item, once per recovery (a sink that re-finished stays). */
export function forgetSinks(db: Db, runId: string, sinks: string[], n: number) {
  if (sinks.length === 0) return Promise.resolve(undefined);
  return db.update(
    keys.end(runId),
    { set: { recovered: n }, setIfMissing: { kind: 'end', runId }, delete: { doneDeps: new Set(sinks) } },
    { expr: 'attribute_not_exists(#r) OR #r < :n', names: { '#r': 'recovered' }, values: { ':n': n } },
  );
}

/** The statuses an operator may mark succeeded. */
export const COMPLETABLE: ReadonlySet<string> = new Set(['failed', 'waiting', 'queued', 'running']);

/**
 * Marks a task succeeded with an operator's output ("mark success"), guarded by the status, attempt and
 * fence read: a running holder is fenced out and its late result is discarded, as for a zombie.
 */
export function markSucceeded(db: Db, t: TaskItem, output: unknown, now: number) {
  // The mark is an attempt of its own when the current one already has its record (it failed), and its
  // fence is the new one, which no holder ever had: history keeps one outcome per attempt and per lease.
  const attempt = t.status === 'failed' || (t.status === 'waiting' && t.wake === 'retry') ? t.attempt + 1 : t.attempt;
  const rec: AttemptRecord[] = [{ attempt, status: 'succeeded', marked: true, fence: (t.fence ?? 0) + 1, endedAt: now }];
  const guard = and(whereEquals({ status: t.status, attempt: t.attempt }), sameOrAbsent('fence', t.fence));
  return db.update<TaskItem>(
    keys.task(t.runId, t.name),
    {
      set: { status: 'succeeded', attempt, output, endedAt: now, ...db.expiry(now) },
      add: { fence: 1 },
      append: { attempts: rec },
      remove: ['owner', ...DUE_ATTRIBUTES, 'wake', 'wakeRequested', 'state', 'error', 'held', 'deadline'],
    },
    guard,
  );
}

/**
 * A task of a run that ended before it did → cancelled (or `skipped`, for an attempt of a run that ended
 * otherwise), guarded by the status (and fence) read. A running holder is fenced out: its next
 * heartbeat fails, which aborts its executor.
 */
export function cancelTask(db: Db, t: TaskItem, now: number, error: TaskError, status: 'cancelled' | 'skipped' = 'cancelled') {
  // The recovery number too: a recover that reset the task after it was read must win.
  const guard = and(whereEquals({ status: t.status }), sameOrAbsent('fence', t.fence), sameOrAbsent('recovered', t.recovered));
  return db.update<TaskItem>(
    keys.task(t.runId, t.name),
    {
      set: { status, endedAt: now, error, ...db.expiry(now) },
      add: { fence: 1 },
      remove: ['owner', ...DUE_ATTRIBUTES, 'wake', 'wakeRequested', 'held'],
    },
    guard,
  );
}

const sameOrAbsent = (attr: string, v: unknown): Condition =>
  v === undefined ? { expr: 'attribute_not_exists(#a)', names: { '#a': attr } } : whereEquals({ [attr]: v });
