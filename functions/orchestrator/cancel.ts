import type { TaskItem } from '../store/items.js';
import { cancelRun, listChildLinks } from '../store/runs.js';
import { abandon } from '../store/tasks.js';
import type { Deps } from './deps.js';

/**
 * Cancels a run: one conditional write on the run. Queued attempts are abandoned by the worker that
 * receives them, waiting ones when they wake, running ones finish; child runs are cancelled in turn
 * when the cancellation reaches the master through the stream.
 */
export async function cancel(deps: Deps, runId: string, reason = 'cancelled by request') {
  const run = await cancelRun(deps.db, runId, deps.now(), reason);
  if (run) deps.log.info({ run: runId, to: 'cancelled', reason }, 'run transition');
  return run;
}

/** The run was cancelled: cancel the children its sub-workflow tasks started. */
export async function cancelChildren(deps: Deps, runId: string): Promise<void> {
  const links = await listChildLinks(deps.db, runId);
  await Promise.all(links.map((l) => cancel(deps, l.childRunId, `parent run ${runId} was cancelled`)));
}

/** A worker received an attempt of a run that is already over: close the attempt so nothing re-drives it. */
export async function abandonAttempt(deps: Deps, job: Pick<TaskItem, 'runId' | 'name' | 'attempt'>, runStatus: string) {
  const done = await abandon(deps.db, job, deps.now(), { reason: 'cancelled', message: `not started: the run is ${runStatus}` });
  if (done) deps.log.info({ run: job.runId, task: job.name, attempt: job.attempt, from: 'queued', to: 'skipped' }, 'task transition');
}
