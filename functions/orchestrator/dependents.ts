import { BatonError } from '../common/errors.js';
import type { DependentConfig } from '../engine/definition/dependent.js';
import { criteriaFor, type DependencyCriteria, inWindow, logicalTime, runMatches } from '../engine/flow/dependency-match.js';
import { latestDefinition } from '../store/definitions.js';
import { addWaiter, listWaiters, removeWaiter, type WaiterItem } from '../store/dependents.js';
import { type RunItem, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { getRun, type IndexedRun, runsCreatedSince } from '../store/runs.js';
import { getTask, requestWake, wake } from '../store/tasks.js';
import type { DependencyMatch, DependencyService } from '../tasks/executor.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';

/**
 * Cross-workflow dependencies (`type: dependent`): the look-up an attempt makes, and the wake-up a run
 * ending gives the attempts that wait for it.
 *
 * No wake-up can be lost between the two: an attempt that finds nothing files its waiter item first
 * and then looks once more before it suspends; a run ending reads the waiters after its terminal write.
 * Whichever comes second sees the other. If the attempt is still running when the wake-up comes, the
 * wake is flagged on the task (`requestWake`) and its suspension turns into an immediate resume.
 */

/** Most runs one look-up examines (newest first); with a window, only runs created since its start. */
export const MAX_DEPENDENCY_CANDIDATES = 1000;
/**
 * How much earlier than the window's start the index is read: a run is created at or after its logical
 * time by the clock of the process that creates it, and another process's clock may be a little ahead.
 */
const CLOCK_SLACK_MS = 60_000;
const PAGE = 100;

/** The dependency service of one attempt of `run`. */
export function dependencyService(deps: Deps, run: RunItem, t: TaskItem): DependencyService {
  return {
    async find(config: DependentConfig): Promise<DependencyMatch | undefined> {
      const criteria = criteriaFor(config, logicalTime(run));
      // A resumed attempt has checked the workflow already (its state says so); a first one checks now.
      if (t.state === undefined && !(await latestDefinition(deps.db, config.workflow))) {
        throw new BatonError('not_found', `workflow ${config.workflow} does not exist`);
      }
      const waiter = { runId: run.runId, task: t.name, attempt: t.attempt, criteria, createdAt: deps.now() };
      const now = await findRun(deps, criteria, run.runId);
      if (now) {
        // A resumed attempt (woken by the run it found) filed its waiter when it suspended.
        if (t.state !== undefined) await removeWaiter(deps.db, waiter);
        return now;
      }
      await addWaiter(deps.db, waiter);
      const late = await findRun(deps, criteria, run.runId);
      if (late) await removeWaiter(deps.db, waiter);
      else deps.log.debug({ run: run.runId, task: t.name, attempt: t.attempt, awaits: criteria.workflow }, 'waiting for a run');
      return late;
    },
  };
}

/**
 * The newest run that satisfies `criteria` (other than `self`), or undefined. Reads the runs-by-workflow
 * index, bounded below by the window's start (a run is created at or after its logical time); a
 * candidate's run item is read only when the index cannot decide: params to compare, or a status the
 * index may not have caught up with.
 */
async function findRun(deps: Deps, criteria: DependencyCriteria, self: string): Promise<DependencyMatch | undefined> {
  let start: Record<string, unknown> | undefined;
  let examined = 0;
  do {
    const page = await runsCreatedSince(deps.db, criteria.workflow, { since: since(criteria), limit: PAGE, start });
    for (const r of page.runs) {
      if (++examined > MAX_DEPENDENCY_CANDIDATES) {
        deps.log.warn({ workflow: criteria.workflow, examined: MAX_DEPENDENCY_CANDIDATES }, 'dependency look-up stopped at its run limit');
        return undefined;
      }
      const m = await candidate(deps, criteria, r, self);
      if (m) return m;
    }
    start = page.next;
  } while (start);
  return undefined;
}

const since = (c: DependencyCriteria) => (c.window ? c.window.from - CLOCK_SLACK_MS : undefined);

async function candidate(deps: Deps, c: DependencyCriteria, r: IndexedRun, self: string): Promise<DependencyMatch | undefined> {
  if (r.runId === self || !inWindow(c, r)) return undefined;
  const ended = TERMINAL_RUN.has(r.status);
  if (ended && !c.statuses.includes(r.status)) return undefined;
  if (ended && c.params === undefined) return matchOf(c.workflow, r);
  // Params are not in the index, and a status it shows as active may be an end it has not caught up with.
  const full = await getRun(deps.db, r.runId);
  return full && runMatches(c, full) ? matchOf(c.workflow, full) : undefined;
}

const matchOf = (workflow: string, r: IndexedRun | RunItem): DependencyMatch => ({
  runId: r.runId,
  workflow,
  status: r.status,
  logicalTime: logicalTime(r),
  ...(r.endedAt !== undefined && { endedAt: r.endedAt }),
});

/** Waiters handled at once by one run end. */
const WAKE_LANES = 16;

/**
 * A run ended (from `onRunEnded`): wake every attempt waiting for a run of its workflow that this run
 * satisfies. Waiters whose attempt is over are removed on the way. Each wake is one conditional write
 * (`wake`: waiting → queued for that same attempt), so a replayed stream record wakes nothing twice.
 */
export async function wakeDependents(deps: Deps, run: RunItem): Promise<void> {
  if (!TERMINAL_RUN.has(run.status)) return;
  const waiters = (await listWaiters(deps.db, run.workflow)).filter((w) => w.runId !== run.runId && runMatches(w.criteria, run));
  let next = 0;
  const lane = async () => {
    while (next < waiters.length) await wakeWaiter(deps, waiters[next++] as WaiterItem, run);
  };
  await Promise.all(Array.from({ length: Math.min(WAKE_LANES, waiters.length) }, lane));
}

async function wakeWaiter(deps: Deps, w: WaiterItem, run: RunItem): Promise<void> {
  const ref = { run: w.runId, task: w.task, attempt: w.attempt };
  let t = await getTask(deps.db, w.runId, w.task);
  if (!waits(t, w)) {
    await removeWaiter(deps.db, w);
    return;
  }
  if (t?.status === 'running') {
    if (await requestWake(deps.db, w.runId, w.task, w.attempt)) {
      deps.log.info({ ...ref, by: run.runId }, 'dependency met while the attempt runs; it resumes at once');
      return;
    }
    t = await getTask(deps.db, w.runId, w.task);
  }
  if (t?.status !== 'waiting' || t.attempt !== w.attempt || t.wake !== 'resume') return;
  const woken = await wake(deps.db, t, deps.now());
  if (!woken) return;
  deps.log.info({ ...ref, from: 'waiting', to: 'queued', by: run.runId }, 'task transition');
  await dispatchAttempt(deps, woken);
}

/** The waiter's attempt may still be waiting: the same attempt, not ended, not between retries. */
function waits(t: TaskItem | undefined, w: WaiterItem): t is TaskItem {
  if (!t || t.attempt !== w.attempt || TERMINAL_TASK.has(t.status) || t.status === 'blocked') return false;
  return !(t.status === 'waiting' && t.wake === 'retry');
}
