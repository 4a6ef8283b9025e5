import { notFound } from '../../common/errors.js';
import { getRun } from '../../store/runs.js';
import type { Deps } from '../deps.js';
import { type Started, startWorkflow } from '../start.js';

/**
 * A new run of the same workflow version with the same params, whose trigger names the run it repeats.
 * Called by the API, which dispatches: it starts the new run itself (inline start, `run-start.ts`).
 */
export async function rerun(deps: Deps, runId: string): Promise<Started> {
  const run = await getRun(deps.db, runId);
  if (!run) throw notFound(`run ${runId}`);
  return startWorkflow(deps, {
    workflow: run.workflow,
    version: run.version,
    params: run.params,
    trigger: { type: 'rerun', of: runId },
    inline: true,
  });
}
