import { type TaskItem, TERMINAL_TASK } from '../store/items.js';
import { cancelRun, getRun, listChildLinks, runItems } from '../store/runs.js';
import { cancelTask } from '../store/task-operations.js';
import type { Deps } from './deps.js';

/**
 * Cancels a run: one conditional write on the run. When it reaches the master through the stream,
 * `stopWork` cancels its tasks (stopping running ones) and child runs are cancelled in turn.
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

/**
 * The run was cancelled: every task that had not ended becomes `cancelled` (waits end at once). A running
 * attempt is fenced out by that write; its worker's next heartbeat fails and aborts the executor, which
 * closes an http call's connection. Each write is guarded by the status, fence and recovery read, so a
 * recover that came first wins.
 */
export async function stopWork(deps: Deps, runId: string): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'cancelled') return;
  const open = (await runItems(deps.db, runId)).filter((i) => i.kind === 'task' && !TERMINAL_TASK.has(i.status as string));
  const error = { reason: 'cancelled' as const, message: run.cancelReason ?? 'the run was cancelled' };
  await Promise.all(
    (open as unknown as TaskItem[]).map(async (t) => {
      const done = await cancelTask(deps.db, t, deps.now(), error);
      if (done) deps.log.info({ run: runId, task: t.name, attempt: t.attempt, from: t.status, to: 'cancelled' }, 'task transition');
    }),
  );
}

/** A worker claimed an attempt of a run that is already over: close the attempt so nothing re-drives it. */
export async function abandonClaimed(deps: Deps, t: TaskItem, runStatus: string) {
  const error = { reason: 'cancelled' as const, message: `not started: the run is ${runStatus}` };
  const done = await cancelTask(deps.db, t, deps.now(), error, runStatus === 'cancelled' ? 'cancelled' : 'skipped');
  if (done) deps.log.info({ run: t.runId, task: t.name, attempt: t.attempt, from: 'queued', to: done.status }, 'task transition');
}
