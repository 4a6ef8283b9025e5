import type { PromotedBy } from '../store/items.js';
import { getRun, markStarted } from '../store/runs.js';
import { admit } from './concurrency.js';
import type { Deps } from './deps.js';
import { settleRoots } from './master.js';
import { loadWorkflow } from './workflows.js';

/**
 * A new run: queue its root tasks, then mark it running. Safe to call again for the same run. `by`: who starts it.
 *
 * The roots are queued out of the due index (`QueueInfo.unindexed`: 2 index writes fewer per root), and
 * the run's own due entry is what finds them if their dispatch is lost or their holder dies before its
 * first heartbeat: it stays where the run's creation put it (its claim deadline, `createdAt` + lease),
 * so the start does not move it (2 index writes fewer per run). When it falls due while the run runs,
 * `fireDue` gives each root still in flight its entry and moves the run's to the watchdog
 * (`reconcile.ts checkStart`). A start that finds that time already passed or too far (a run started by
 * the sweeper or admitted late, a watchdog shorter than the lease) sets it to one lease from now, or the
 * watchdog if that comes first.
 */
export async function startRun(deps: Deps, runId: string, by: PromotedBy = 'master'): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'queued') return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  if (!(await admit(deps, run, wf))) return; // concurrency policy: the run was made pending or skipped
  await settleRoots(deps, run, wf, by);
  const now = deps.now();
  const { leaseMs, watchdogMs } = deps.db.config;
  const kept = run.dueAt !== undefined && run.dueAt > now && run.dueAt <= now + Math.min(leaseMs, watchdogMs);
  const started = await markStarted(deps.db, runId, now, kept ? undefined : now + Math.min(leaseMs, watchdogMs));
  if (started) deps.log.info({ run: runId, workflow: run.workflow, from: 'queued', to: 'running' }, 'run transition');
}
