import type { PromotedBy } from '../store/items.js';
import { getRun, markStarted } from '../store/runs.js';
import { admit } from './concurrency.js';
import type { Deps } from './deps.js';
import { settleRoots } from './master.js';
import { loadWorkflow } from './workflows.js';

/** A new run: queue its root tasks, then mark it running. Safe to call again for the same run. `by`: who starts it. */
export async function startRun(deps: Deps, runId: string, by: PromotedBy = 'master'): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'queued') return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  if (!(await admit(deps, run, wf))) return; // concurrency policy: the run was made pending or skipped
  await settleRoots(deps, run, wf, by);
  const started = await markStarted(deps.db, runId, deps.now());
  if (started) deps.log.info({ run: runId, workflow: run.workflow, from: 'queued', to: 'running' }, 'run transition');
}
