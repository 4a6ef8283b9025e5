import { notFound, RequestError } from '../../common/errors.js';
import type { TaskItem } from '../../store/items.js';
import { getRun, pauseRun, resumeRun, runItems } from '../../store/runs.js';
import { hold, unhold } from '../../store/task-operations.js';
import type { Deps } from '../deps.js';
import { wakeMaps } from '../map-operations.js';

/**
 * Pause and resume. A paused run keeps its running attempts (they finish and are recorded, and the
 * master advances the run as usual), but nothing new runs: the claim is where that is enforced. The
 * worker reads the run right after its claim (it read it before the claim until now, so no read is
 * added); if the run is paused, it hands the attempt back as `held` (out of the due index). That one
 * place covers every way work becomes ready: new tasks queued by the master, waits and retries that
 * fall due, attempts the sweeper reclaims from dead workers. Resume queues the held attempts again.
 */

/**
 * running → paused. 409 if the run is not running, 404 if there is none.
 *
 * Answers only `BATON_CLAIM_WINDOW_MS` (W) after the pause's write was acknowledged. A held attempt may
 * run on a run read sent with its claim (`claim-window.ts`): that read can land before the pause and the
 * claim after it, but then the claim lands less than W/2 after the pause. Waiting W here means every such
 * claim is `running` in the table before the caller hears that the run is paused: it counts as running
 * at the pause, which a paused run keeps. Nothing claimed after this returns runs while the run is paused.
 */
export async function pause(deps: Deps, runId: string) {
  const run = await pauseRun(deps.db, runId, deps.now());
  if (run) {
    deps.log.info({ run: runId, from: 'running', to: 'paused' }, 'run transition');
    const w = deps.db.config.claimWindowMs;
    if (w > 0) await new Promise((r) => setTimeout(r, w));
    return run;
  }
  const existing = await getRun(deps.db, runId);
  if (!existing) throw notFound(`run ${runId}`);
  throw new RequestError(409, 'run_not_running', `run ${runId} is ${existing.status}; only a running run can be paused`);
}

/** paused → running, then releases what was held (the stream and the watchdog do it again if this dies). */
export async function resume(deps: Deps, runId: string) {
  const run = await resumeRun(deps.db, runId);
  if (!run) {
    const existing = await getRun(deps.db, runId);
    if (!existing) throw notFound(`run ${runId}`);
    throw new RequestError(409, 'run_not_paused', `run ${runId} is ${existing.status}; only a paused run can be resumed`);
  }
  deps.log.info({ run: runId, from: 'paused', to: 'running' }, 'run transition');
  await releaseHeld(deps, runId);
  return run;
}

/** The worker's side: a claimed attempt of a paused run goes back, held. */
export async function holdClaimed(deps: Deps, t: TaskItem, claimedAt: number): Promise<void> {
  const held = await hold(deps.db, t, claimedAt);
  if (held) deps.log.info({ run: t.runId, task: t.name, attempt: t.attempt, from: 'running', to: 'queued', held: true }, 'task transition');
}

/** Queues again every attempt held while the run was paused. Idempotent; one query of the run's items. */
export async function releaseHeld(deps: Deps, runId: string, items?: Record<string, unknown>[]): Promise<number> {
  const all = items ?? (await runItems(deps.db, runId));
  const held = all.filter((i) => i.kind === 'task' && i.held === true && i.status === 'queued') as unknown as TaskItem[];
  let released = 0;
  await wakeMaps(deps, runId, all); // suspended map attempts start the items the pause held back
  await Promise.all(
    held.map(async (t) => {
      const q = await unhold(deps.db, t, deps.now());
      if (!q) return;
      released++;
      deps.log.info({ run: runId, task: t.name, attempt: t.attempt, from: 'held', to: 'queued' }, 'task transition');
      await deps.dispatch({ runId, task: t.name, attempt: t.attempt });
    }),
  );
  return released;
}
