import type { ConcurrencyPolicy } from '../engine/definition/types.js';
import { keys, type RunItem, TERMINAL_RUN } from '../store/items.js';
import { bumpPending, getRun, markAdmitted, markPending, markSkipped } from '../store/runs.js';
import { admitWaiting, enqueueWaiting, getGate, releaseSlot, runIdOfEntry, takeSlot, waitingEntry } from '../store/schedules.js';
import type { Deps } from './deps.js';
import { type LoadedWorkflow, loadWorkflow } from './workflows.js';

/**
 * Per-workflow concurrency (`concurrency: { policy, limit }` in the definition), for every trigger:
 * the gate sits in the master's `startRun`, between "a run is queued" and "its first tasks start".
 *
 * - `allow` (or no `concurrency`): the gate is never touched.
 * - `skip`: the run takes a slot (conditional ADD to the gate's `active` set while its size is below
 *   the limit) or ends at once as `skipped`, with `skipReason`. The run item exists either way, so a
 *   repeated trigger (same deterministic id) is still a no-op.
 * - `queue`: the run takes a slot if one is free and nobody waits; otherwise it becomes `pending`, joins
 *   the `waiting` set, and is admitted oldest first when a run of the workflow ends (`onRunEnded`).
 *
 * A slot is held from admission until the run is terminal. Each step is a conditional single-item
 * write; the steps between them are re-driven by the sweeper through the pending run's `dueAt`.
 * Each run is admitted under the limit of its own definition version.
 */

const limitOf = (c: ConcurrencyPolicy | undefined) => c?.limit ?? Number.POSITIVE_INFINITY;

/** True when the run may start now. Otherwise it was made `skipped` or `pending` (or someone else moved it). */
export async function admit(deps: Deps, run: RunItem, wf: LoadedWorkflow): Promise<boolean> {
  const cc = wf.definition.concurrency;
  if (!cc || cc.policy === 'allow') return true;
  const { db } = deps;
  if (await takeSlot(db, run.workflow, run.runId, cc.limit, cc.policy === 'queue')) return true;
  const now = deps.now();
  if (cc.policy === 'skip') {
    const reason = `concurrency: ${cc.limit} run(s) of ${run.workflow} already active (policy skip)`;
    const skipped = await markSkipped(db, run.runId, now, reason);
    if (skipped) deps.log.info({ run: run.runId, workflow: run.workflow, from: 'queued', to: 'skipped', reason }, 'run transition');
    return false;
  }
  const pending = await markPending(db, run.runId, now, now + db.config.watchdogMs);
  if (!pending) return false;
  deps.log.info({ run: run.runId, workflow: run.workflow, from: 'queued', to: 'pending', limit: cc.limit }, 'run transition');
  await enqueueWaiting(db, run.workflow, waitingEntry(run));
  await pump(deps, run.workflow);
  return false;
}

/** A run of the workflow ended: free its slot (idempotent) and admit the next waiting runs. */
export async function releaseRun(deps: Deps, run: RunItem): Promise<void> {
  if (!TERMINAL_RUN.has(run.status)) return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const cc = wf.definition.concurrency;
  if (!cc || cc.policy === 'allow') return;
  await releaseSlot(deps.db, run.workflow, run.runId, waitingEntry(run));
  if (cc.policy === 'queue') await pump(deps, run.workflow);
}

/** Most gate reads in one pump (admissions, lost races and cleanups together); the rest waits for the next pump. */
const MAX_PUMP_ROUNDS = 200;

/**
 * Admits waiting runs, oldest first, while there is room. Safe to run concurrently: each admission is
 * a conditional move of one entry from `waiting` to `active`; the loser re-reads and goes on.
 */
export async function pump(deps: Deps, workflow: string, heal = false): Promise<number> {
  const { db } = deps;
  let admitted = 0;
  for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
    const gate = await getGate(db, workflow);
    const waiting = [...(gate?.waiting ?? [])].sort();
    const entry = waiting[0];
    if (!entry) return admitted;
    const run = await getRun(db, runIdOfEntry(entry));
    if (run?.status !== 'pending') {
      // Ended while waiting (or never existed): it must not hold a place in the line.
      if (!run || TERMINAL_RUN.has(run.status)) await releaseSlot(db, workflow, runIdOfEntry(entry), entry);
      else if (run.status === 'queued' || run.status === 'running') await admitWaiting(db, workflow, entry, Number.POSITIVE_INFINITY);
      continue;
    }
    const limit = limitOf((await loadWorkflow(db, run.workflow, run.version)).definition.concurrency);
    const active = gate?.active?.size ?? 0;
    if (active >= limit) {
      if (!heal || !(await healActive(deps, workflow, gate?.active))) return admitted;
      continue;
    }
    if (!(await admitWaiting(db, workflow, entry, limit))) continue; // someone else moved first: look again
    const started = await markAdmitted(db, run.runId, deps.now());
    if (started) {
      admitted++;
      deps.log.info({ run: run.runId, workflow, from: 'pending', to: 'queued' }, 'run transition');
      await deps.timer(keys.run(run.runId), deps.now());
    }
  }
  deps.log.warn(
    { workflow, admitted, rounds: MAX_PUMP_ROUNDS },
    'concurrency pump reached its round limit; the sweeper re-checks the pending runs',
  );
  return admitted;
}

/**
 * Frees slots held by runs that are already terminal (their end event was lost before the release).
 * Only the sweeper's backstop pays for these reads. True when a slot was freed.
 */
async function healActive(deps: Deps, workflow: string, active: ReadonlySet<string> | undefined): Promise<boolean> {
  let freed = false;
  for (const id of active ?? []) {
    const run = await getRun(deps.db, id);
    if (run && !TERMINAL_RUN.has(run.status)) continue;
    if (await releaseSlot(deps.db, workflow, id, run ? waitingEntry(run) : `#${id}`)) {
      freed = true;
      deps.log.warn({ run: id, workflow }, 'freed the concurrency slot of a run that had ended');
    }
  }
  return freed;
}

/** The sweeper found a pending run due for its re-check: repair whatever a crash left half done. */
export async function recheckPending(deps: Deps, run: RunItem): Promise<void> {
  const { db } = deps;
  const gate = await getGate(db, run.workflow);
  const entry = waitingEntry(run);
  if (gate?.active?.has(run.runId)) {
    // Admitted, but the pending → queued write was lost.
    if (await markAdmitted(db, run.runId, deps.now())) {
      deps.log.warn({ run: run.runId }, 'admitted pending run re-driven');
      await deps.timer(keys.run(run.runId), deps.now());
    }
    return;
  }
  if (!gate?.waiting?.has(entry)) await enqueueWaiting(db, run.workflow, entry);
  await pump(deps, run.workflow, true);
  const now = deps.now();
  const fresh = await getRun(db, run.runId);
  if (fresh?.status === 'pending') await bumpPending(db, fresh, now + db.config.watchdogMs);
}
