import { type RunItem, TERMINAL_RUN } from '../store/items.js';
import { getTask, requestWake, wake } from '../store/tasks.js';
import { backfillRunEnded } from './backfill.js';
import { releaseRun } from './concurrency.js';
import { wakeDependents } from './dependents.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';

/**
 * What follows a run's end, routed from its stream record (`stream.ts`): its concurrency slot is freed,
 * its backfill counts it, the parent task of a sub-workflow's child wakes, and so do the `dependent` tasks
 * it satisfies. Each step is re-drivable.
 */

/**
 * A run finished: free its slot and count it in its backfill (`onRunEnded`); if it is a sub-workflow's
 * child, wake the parent task that waits for it. If the parent's attempt is still running (between
 * looking at the child and suspending), flag it instead, so that it wakes at once rather than sleep
 * through the event.
 */
export async function onRunFinished(deps: Deps, run: RunItem): Promise<void> {
  await onRunEnded(deps, run); // concurrency slot, backfill progress
  const p = run.parent;
  if (!p || !TERMINAL_RUN.has(run.status)) return;
  let t = await getTask(deps.db, p.runId, p.task);
  if (t?.status === 'running' && t.attempt === p.attempt) {
    if (await requestWake(deps.db, p.runId, p.task, p.attempt)) return;
    t = await getTask(deps.db, p.runId, p.task);
  }
  if (t?.status !== 'waiting' || t.attempt !== p.attempt || t.wake !== 'resume') return;
  const woken = await wake(deps.db, t, deps.now());
  if (!woken) return;
  deps.log.info({ run: woken.runId, task: woken.name, attempt: woken.attempt, from: 'waiting', to: 'queued' }, 'task transition');
  await dispatchAttempt(deps, woken);
}

/** A run reached a terminal state: free its slot, count it in its backfill, wake the `dependent` tasks it satisfies. */
export async function onRunEnded(deps: Deps, run: RunItem): Promise<void> {
  if (!TERMINAL_RUN.has(run.status)) return;
  await releaseRun(deps, run);
  await wakeDependents(deps, run);
  const t = run.trigger;
  if (t?.type === 'backfill' && typeof t.backfillId === 'string') await backfillRunEnded(deps, t.backfillId, run);
}
