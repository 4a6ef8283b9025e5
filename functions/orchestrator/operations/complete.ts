import { notFound, RequestError } from '../../common/errors.js';
import type { TaskItem } from '../../store/items.js';
import { getRun } from '../../store/runs.js';
import { COMPLETABLE, markSucceeded } from '../../store/task-operations.js';
import { getTask } from '../../store/tasks.js';
import type { Deps } from '../deps.js';
import { loadWorkflow } from '../workflows.js';

/**
 * Mark success: a failed, waiting, queued or running task becomes `succeeded` with the operator's
 * output. The write bumps the fence, so a running holder's late result is discarded as a zombie's.
 * In an active run the stream then advances the run as for any success; in an ended run the task is
 * only marked, and a following recover starts after it.
 */
export async function completeTask(deps: Deps, runId: string, task: string, output: unknown): Promise<TaskItem> {
  const run = await getRun(deps.db, runId);
  if (!run) throw notFound(`run ${runId}`);
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  if (!wf.definition.tasks[task]) throw notFound(`task ${task} in run ${runId}`);
  const size = Buffer.byteLength(JSON.stringify(output ?? null));
  if (size > deps.db.config.maxOutputBytes) {
    throw new RequestError(400, 'invalid_body', `output is ${size} bytes; the limit is ${deps.db.config.maxOutputBytes}`, [
      { path: 'output', message: 'too large' },
    ]);
  }
  const t = await getTask(deps.db, runId, task);
  if (!t || !COMPLETABLE.has(t.status)) {
    throw new RequestError(
      409,
      'task_not_completable',
      `task ${task} is ${t?.status ?? 'not started'}; only a failed, waiting, queued or running task can be marked`,
    );
  }
  const done = await markSucceeded(deps.db, t, output ?? null, deps.now());
  if (!done) throw new RequestError(409, 'task_changed', `task ${task} changed while it was being marked; read it again`);
  deps.log.info({ run: runId, task, attempt: t.attempt, from: t.status, to: 'succeeded', marked: true }, 'task transition');
  return done;
}
