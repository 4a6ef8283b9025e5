import { notFound, RequestError } from '../../common/errors.js';
import type { RunItem, TaskItem } from '../../store/items.js';
import { beginRecovery, getRun, runItems } from '../../store/runs.js';
import { forgetSinks, resetForRecovery } from '../../store/task-operations.js';
import { stopWork, workMustStop } from '../cancel.js';
import type { Deps } from '../deps.js';
import { settleRecovered } from '../master.js';
import { rearmClock } from '../run-timeout.js';
import { type LoadedWorkflow, loadWorkflow } from '../workflows.js';

/**
 * Recover ("redrive", "clear with downstream"): an ended run runs again under the same id, from the
 * named tasks (default: every task that did not succeed) and everything downstream of them. Tasks
 * outside that set keep their status and output and never run again; those inside get new attempt
 * numbers with their history kept.
 *
 * One conditional write on the run starts it (failed | cancelled | succeeded → running, recording the
 * set and a recovery number), which decides between concurrent recovers. The rest is re-drivable: the
 * stream delivers that write to `applyRecovery`, which resets each task at most once per recovery
 * number, forgets the recovered sinks, then queues the tasks whose dependencies all stayed done.
 */

export interface RecoverRequest {
  readonly tasks?: string[];
  readonly idempotencyKey?: string;
}

const RECOVERABLE = new Set(['failed', 'cancelled']);

export async function recover(deps: Deps, runId: string, req: RecoverRequest): Promise<RunItem> {
  const run = await getRun(deps.db, runId);
  if (!run) throw notFound(`run ${runId}`);
  if (req.idempotencyKey !== undefined && run.recovery?.key === req.idempotencyKey) return run; // a retried request
  if (!(RECOVERABLE.has(run.status) || (run.status === 'succeeded' && req.tasks))) {
    const why = run.status === 'succeeded' ? 'name the tasks to run again' : 'only an ended run can be recovered';
    throw new RequestError(409, 'run_not_recoverable', `run ${runId} is ${run.status}: ${why}`);
  }
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  (req.tasks ?? []).forEach((t, i) => {
    if (!wf.definition.tasks[t])
      throw new RequestError(400, 'invalid_body', `no task ${t} in the workflow`, [{ path: `tasks[${i}]`, message: 'unknown task' }]);
  });
  await stoppedWork(deps, run);
  const tasks = taskItems(await runItems(deps.db, runId));
  const set = recoverySet(wf, tasks, req.tasks);
  if (set.size === 0)
    throw new RequestError(409, 'nothing_to_recover', `every task of run ${runId} succeeded; name the tasks to run again`);
  for (const name of set) {
    const missing = (wf.definition.tasks[name]?.after ?? []).find((d) => !set.has(d) && tasks.get(d)?.status !== 'succeeded');
    if (missing) {
      throw new RequestError(409, 'upstream_not_succeeded', `task ${name} depends on ${missing}, which did not succeed: recover it too`, [
        { path: 'tasks', message: `add ${missing}` },
      ]);
    }
  }
  const started = await beginRecovery(
    deps.db,
    run,
    wf.graph.order.filter((t) => set.has(t)),
    deps.now(),
    req.idempotencyKey,
  );
  if (!started) {
    const now = await getRun(deps.db, runId);
    if (req.idempotencyKey !== undefined && now?.recovery?.key === req.idempotencyKey) return now; // a concurrent retry won
    throw new RequestError(409, 'run_changed', `run ${runId} changed while it was being recovered (another recover?)`);
  }
  deps.log.info(
    { run: runId, from: run.status, to: 'running', recovery: started.recovery?.n, tasks: started.recovery?.tasks },
    'run transition',
  );
  await applyRecovery(deps, started);
  return started;
}

/**
 * A cancelled or timed-out run is recovered only once its work has stopped. A held attempt confirmed
 * through the claim window (`claim-window.ts`) may have landed its claim up to W/2 after the run ended,
 * after the master's `stopWork` scan; the master's second pass comes W after it saw the end, and a
 * recovery begun before then would leave such an attempt running in the recovered run when it is outside
 * the recovered set. So the recovery waits until the run's end is W old (every such claim is in the
 * table by then; wall clocks assumed within W/2, as for the second pass), then makes that pass itself
 * (idempotent, conditional writes): what it reads next shows every open attempt cancelled.
 */
async function stoppedWork(deps: Deps, run: RunItem): Promise<void> {
  const w = deps.db.config.claimWindowMs;
  if (w <= 0 || !workMustStop(run)) return;
  const wait = (run.endedAt ?? 0) + w - deps.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, w)));
  await stopWork(deps, run.runId);
}

/** The named tasks (default: every task that did not succeed) and everything downstream of them. */
export function recoverySet(wf: LoadedWorkflow, tasks: Map<string, TaskItem>, named?: string[]): Set<string> {
  const start = named ?? wf.graph.order.filter((t) => tasks.get(t)?.status !== 'succeeded');
  const set = new Set<string>();
  const work = [...start];
  while (work.length > 0) {
    const t = work.pop() as string;
    if (set.has(t)) continue;
    set.add(t);
    work.push(...(wf.graph.successors[t] ?? []));
  }
  return set;
}

/**
 * Carries out the run's latest recovery. Safe to run again, concurrently or after a crash at any point:
 * the clock's re-arm and every reset are guarded by the recovery number, and promotions start only once
 * every reset is done (so a task that runs again can never have its successor reset behind it). The
 * clock goes first: a crash after it still leaves resets undone, which the run watchdog re-drives.
 */
export async function applyRecovery(deps: Deps, run: RunItem): Promise<void> {
  const rec = run.recovery;
  if (!rec || (run.status !== 'running' && run.status !== 'paused')) return;
  await rearmClock(deps, run); // the run's timeout and sla count again from the recovery
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const set = new Set(rec.tasks);
  const kept = (name: string) => (wf.definition.tasks[name]?.after ?? []).filter((d) => !set.has(d));
  await Promise.all(rec.tasks.map((name) => resetForRecovery(deps.db, run.runId, name, rec.n, kept(name))));
  await forgetSinks(
    deps.db,
    run.runId,
    wf.graph.sinks.filter((s) => set.has(s)),
    rec.n,
  );
  const ready = rec.tasks.filter((name) => (wf.definition.tasks[name]?.after ?? []).every((d) => !set.has(d)));
  // Through the master's decision, so a recovered task's join rule and `when` hold as on a first run.
  await Promise.all(ready.map((name) => settleRecovered(deps, run, wf, name)));
}

const taskItems = (items: Record<string, unknown>[]) =>
  new Map(items.filter((i) => i.kind === 'task').map((i) => [i.name as string, i as unknown as TaskItem]));
