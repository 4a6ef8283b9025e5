import { keys, type RunItem, type TaskError, type TaskItem, TERMINAL_TASK } from '../store/items.js';
import { armStopAgain, cancelRun, clearStopAgain, getRun, listChildLinks, runItems } from '../store/runs.js';
import { cancelTask } from '../store/task-operations.js';
import type { Deps } from './deps.js';
import { stopMaps } from './map-operations.js';
import { freeRunSlots } from './pools.js';
import { loadWorkflow } from './workflows.js';

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

/** A run whose work must be stopped: cancelled, or failed because it ran past its own `timeout`. */
export const workMustStop = (run: Pick<RunItem, 'status' | 'timedOutAt'>): boolean =>
  run.status === 'cancelled' || (run.status === 'failed' && run.timedOutAt !== undefined);

/**
 * The run was cancelled (or timed out): every task that had not ended becomes `cancelled` (waits end at
 * once). A running attempt is fenced out by that write; its worker's cancel check (`cancel-watch.ts`)
 * sees it within seconds and aborts the executor, which closes an http call's connection or stops a Step
 * Functions execution. A waiting attempt's external work is stopped here (`Executor.cancel`); a late
 * callback finds the task cancelled and is refused. Each write is guarded by the status, fence and
 * recovery read, so a recover that came first wins.
 */
export async function stopWork(deps: Deps, runId: string): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (!run || !workMustStop(run)) return;
  const open = (await runItems(deps.db, runId)).filter(
    (i) => i.kind === 'task' && !TERMINAL_TASK.has(i.status as string),
  ) as unknown as TaskItem[];
  const why = run.status === 'cancelled' ? (run.cancelReason ?? 'the run was cancelled') : (run.failure?.message ?? 'the run timed out');
  const error: TaskError = { reason: run.status === 'cancelled' ? 'cancelled' : 'run_timeout', message: why };
  const suspended = open.filter((t) => t.status === 'waiting' && t.state !== undefined);
  const specs = suspended.length > 0 ? (await loadWorkflow(deps.db, run.workflow, run.version)).definition.tasks : {};
  await Promise.all(
    open.map(async (t) => {
      // Stop first, then cancel: a crash between the two repeats the stop (idempotent) on the re-driven
      // record, never skips it. A recover that wins the cancel write re-runs the task under a new attempt,
      // with an execution of its own, so the stopped one was not its work.
      const executor = t.status === 'waiting' ? deps.executors[specs[t.name]?.type ?? ''] : undefined;
      if (executor?.cancel && t.state !== undefined) {
        await executor.cancel({ runId, task: t.name, attempt: t.attempt, state: t.state, aws: deps.aws }).catch((err: unknown) => {
          deps.log.error({ run: runId, task: t.name, attempt: t.attempt, err }, 'could not stop the work of a cancelled attempt');
        });
      }
      const done = await cancelTask(deps.db, t, deps.now(), error);
      if (done) deps.log.info({ run: runId, task: t.name, attempt: t.attempt, from: t.status, to: 'cancelled' }, 'task transition');
    }),
  );
}

/**
 * The master saw a run whose work must stop (its terminal record): stop its children, its tasks and its
 * maps, free its pool slots, and make the run due again `BATON_CLAIM_WINDOW_MS` from now for a second
 * pass (`stopAgainDue`). A held attempt confirmed through the claim window may land its claim up to W/2
 * after the run's end, after this pass's scan: the second pass, at least W after the record was seen
 * here (so after the end), finds it (`claim-window.ts`). The due time is armed first: a crash anywhere
 * after it leaves the sweeper to make the second pass, one before it re-drives the record.
 */
export async function onWorkMustStop(deps: Deps, run: RunItem): Promise<void> {
  const w = deps.db.config.claimWindowMs;
  if (w > 0) {
    const at = deps.now() + w;
    if (await armStopAgain(deps.db, run, at)) await deps.timer(keys.run(run.runId), at);
  }
  await stopRunWork(deps, run);
}

/** One pass: children, tasks and maps stopped, then the pool slots of the attempts just stopped freed at once. */
async function stopRunWork(deps: Deps, run: RunItem): Promise<void> {
  await Promise.all([cancelChildren(deps, run.runId), stopWork(deps, run.runId), stopMaps(deps, run.runId)]);
  await freeRunSlots(deps, run);
}

/** The run's due time for the second pass came (the sweeper or the timer): make it, then leave the due index. */
export async function stopAgainDue(deps: Deps, run: RunItem): Promise<void> {
  if (!workMustStop(run)) return;
  await stopRunWork(deps, run);
  await clearStopAgain(deps.db, run);
}

/** A worker claimed an attempt of a run that is already over: close the attempt so nothing re-drives it. */
export async function abandonClaimed(deps: Deps, t: TaskItem, runStatus: string) {
  const error = { reason: 'cancelled' as const, message: `not started: the run is ${runStatus}` };
  const done = await cancelTask(deps.db, t, deps.now(), error, runStatus === 'cancelled' ? 'cancelled' : 'skipped');
  if (done) deps.log.info({ run: t.runId, task: t.name, attempt: t.attempt, from: 'queued', to: done.status }, 'task transition');
}
