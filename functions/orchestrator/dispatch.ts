import { crashEnabled, crashPoint } from '../common/crash.js';
import type { TaskItem } from '../store/items.js';
import type { Deps } from './deps.js';

/**
 * Dispatch: hands a queued attempt to a worker. Written once, with one failure behaviour: a failed
 * dispatch is logged (with the error object) and swallowed. That is safe because every queued attempt
 * sits in the due index at its claim deadline (`store/tasks.ts` queues with `db.due(now + leaseMs)`),
 * or, queued out of the index by an inline advance or as a run's root, is put there once overdue
 * (`overdue.ts`, `reconcile.ts checkStart`): if no worker claims it by then, the sweeper dispatches
 * it again. Throwing instead would fail the caller's whole batch (a stream batch, a sweep) for an
 * attempt that is already safe in the table. Callers log the transition that queued the attempt; this
 * logs only a failed dispatch.
 */
export async function dispatchAttempt(
  deps: Deps,
  t: Pick<TaskItem, 'runId' | 'name' | 'attempt'> & { readonly dueAt?: number },
): Promise<void> {
  if (crashEnabled) crashPoint('before:dispatch');
  try {
    await deps.dispatch({ runId: t.runId, task: t.name, attempt: t.attempt, ...(t.dueAt !== undefined && { dueAt: t.dueAt }) });
  } catch (err) {
    deps.log.warn(
      { run: t.runId, task: t.name, attempt: t.attempt, err },
      'dispatch failed; the sweeper dispatches the queued attempt again',
    );
  }
}
