import { type RunItem, type TaskItem, TERMINAL_TASK } from '../store/items.js';
import { bumpWatchdog, getRun, runItems } from '../store/runs.js';
import { getTask } from '../store/tasks.js';
import { allEnded, isCounted } from './counted-join.js';
import type { Deps } from './deps.js';
import { advance } from './master.js';
import { releaseHeld } from './operations/pause.js';
import { applyRecovery } from './operations/recover.js';
import { indexInFlight } from './overdue.js';
import { repairStart } from './run-start.js';
import { loadWorkflow } from './workflows.js';

/**
 * A running (or paused) run's due time fell due before its first watchdog period is up: the deadline
 * its creation set, which watches the roots its start queued out of the due index (run-start.ts). Each
 * root still in flight without an entry gets one at its natural due time (overdue.ts), then the run's
 * entry moves to the watchdog, `watchdogMs` after the start. Reads the roots, not the whole run. A root
 * with no item at all is one the start never queued (a run created running whose creation's record was
 * lost or parked: `run-start.ts repairStart`); it is queued now.
 */
export async function checkStart(deps: Deps, run: RunItem): Promise<void> {
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const roots = await Promise.all(wf.graph.roots.map((r) => getTask(deps.db, run.runId, r)));
  // A run created running whose creation's record never queued its roots (lost, parked, its handler dead).
  await repairStart(
    deps,
    run,
    wf.graph.roots.filter((_, i) => roots[i] === undefined),
  );
  await indexInFlight(
    deps,
    roots.filter((t): t is TaskItem => t !== undefined),
  );
  await bumpWatchdog(deps.db, run, run.startedAt ?? deps.now());
}

/** Whether a run's due time falling now is the start's check (`checkStart`) rather than the watchdog's. */
export const beforeWatchdog = (deps: Deps, run: RunItem, now: number) =>
  run.startedAt !== undefined && run.startedAt + deps.db.config.watchdogMs > now;

/**
 * The run watchdog's re-drive: looks at all of a running run's items and re-advances any finished
 * task whose effects (successors marked, sink recorded) are missing — the trace of an event that
 * was lost after its retries ran out. Runs only when a run's watchdog falls due, so the whole-run
 * read is paid once per `watchdogMs` of a long run, never per task transition.
 */
export async function reconcile(deps: Deps, runId: string): Promise<number> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'running' && run?.status !== 'paused') return 0;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const tasks = new Map<string, TaskItem>();
  let ended = new Set<string>();
  const items = await runItems(deps.db, runId);
  // A resume or recover whose follow-up died half-way: finish it (both are idempotent).
  if (run.status === 'running' && (await releaseHeld(deps, runId, items)) > 0)
    deps.log.warn({ run: runId }, 'watchdog released held attempts');
  // A run created running whose roots were never queued, found by the watchdog (one shorter than the lease).
  const present = new Set(items.filter((i) => i.kind === 'task').map((i) => i.name));
  const missing = wf.graph.roots.filter((r) => !present.has(r));
  let redriven = (await repairStart(deps, run, missing)) ? 1 : 0;
  const rec = run.recovery;
  const reset = new Set(items.filter((i) => i.kind === 'task' && i.recovered === rec?.n).map((i) => i.name));
  if (rec?.tasks.some((t) => !reset.has(t))) await applyRecovery(deps, run);
  for (const item of items) {
    if (item.kind === 'task') tasks.set(item.name as string, item as unknown as TaskItem);
    if (item.kind === 'end') ended = (item.doneDeps as Set<string>) ?? ended;
  }
  const countedSeen = new Set<string>();
  for (const t of tasks.values()) {
    if (!TERMINAL_TASK.has(t.status)) continue;
    const successorsPending = (wf.graph.successors[t.name] ?? []).some((s) => {
      const st = tasks.get(s);
      const spec = wf.definition.tasks[s];
      if (isCounted(spec)) {
        // A counted join knows no names: pending when still blocked (or never written) with every
        // dependency ended. One re-drive decides it (the watchdog's advance reads the items), so once.
        if (countedSeen.has(s) || (st && st.status !== 'blocked') || !spec || !allEnded(spec, tasks)) return false;
        countedSeen.add(s);
        return true;
      }
      if (!st) return true;
      if (st.status !== 'blocked') return false;
      // Not yet told that t ended, or told by every dependency but never promoted (or skipped).
      return !st.doneDeps?.has(t.name) || (wf.definition.tasks[s]?.after ?? []).every((d) => st.doneDeps?.has(d));
    });
    const sinkPending = wf.graph.sinks.includes(t.name) && !ended.has(t.name);
    if (successorsPending || sinkPending) {
      redriven++;
      await advance(deps, t, { by: 'sweeper', countJoins: true });
    }
  }
  const last = tasks.get(wf.graph.sinks[0] ?? '');
  if (redriven === 0 && last && wf.graph.sinks.every((s) => ended.has(s))) {
    // Every sink is recorded but the run never finished: finish it now.
    redriven++;
    await advance(deps, last, { by: 'sweeper', countJoins: true });
  }
  if (redriven > 0) deps.log.warn({ run: runId, redriven }, 'watchdog re-drove a run whose events were lost');
  // Attempts an inline advance left out of the due index whose check was never armed (a lost record).
  await indexInFlight(deps, tasks.values());
  await bumpWatchdog(deps.db, run, deps.now());
  return redriven;
}
