import { BatonError } from '../common/errors.js';
import { newRunId } from '../common/ids.js';
import type { RunItem, TaskItem } from '../store/items.js';
import { createChildLink, getChildLink, getRun } from '../store/runs.js';
import type { ChildService, ChildState } from '../tasks/executor.js';
import type { Deps } from './deps.js';
import { loadOutput } from './run-output.js';
import { startWorkflow } from './start.js';

/**
 * The child-run service a `subworkflow` attempt uses. The linkage key is built only from the parent
 * task record (run, task, attempt): every caller for the same attempt — a duplicate delivery, a
 * concurrent master, a new holder after failover — names the same linkage, and the conditional put
 * on it decides the one child. The child run is then created under the id the linkage names, again
 * with a conditional put, so a holder that died between the two writes is simply finished by the next.
 */
export function childService(deps: Deps, run: RunItem, t: TaskItem): ChildService {
  return {
    async ensure(req): Promise<ChildState> {
      const lineage = [...(run.lineage ?? []), run.workflow];
      let link = await getChildLink(deps.db, run.runId, t.name, t.attempt);
      if (!link) {
        if (lineage.includes(req.workflow)) {
          throw new BatonError('recursion', `workflow ${req.workflow} would start itself: ${[...lineage, req.workflow].join(' -> ')}`);
        }
        if (lineage.length > deps.db.config.maxDepth) {
          throw new BatonError('depth_exceeded', `sub-workflow nesting deeper than ${deps.db.config.maxDepth} levels`);
        }
        const candidate = {
          parentRunId: run.runId,
          task: t.name,
          attempt: t.attempt,
          childRunId: newRunId(deps.now()),
          workflow: req.workflow,
          createdAt: deps.now(),
        };
        const created = await createChildLink(deps.db, candidate);
        const won = created !== undefined;
        link = created ?? (await getChildLink(deps.db, run.runId, t.name, t.attempt));
        if (!link) throw new Error(`child linkage of ${run.runId}/${t.name}/${t.attempt} vanished`);
        deps.log.info({ run: run.runId, task: t.name, attempt: t.attempt, child: link.childRunId, adopted: !won }, 'child linkage');
      }
      let child = await getRun(deps.db, link.childRunId);
      if (!child) {
        await startWorkflow(deps, {
          workflow: link.workflow,
          version: req.version,
          params: req.params,
          runId: link.childRunId,
          parent: { runId: run.runId, task: t.name, attempt: t.attempt },
          depth: lineage.length,
          lineage,
          trigger: { type: 'parent', runId: run.runId, task: t.name, attempt: t.attempt },
          // The worker dispatches, so it starts the child itself (no stream hop per nesting level); a holder
          // that dies between the child's put and its roots leaves that to the master (`checkInlineStart`).
          inline: true,
        });
        child = await getRun(deps.db, link.childRunId);
        if (!child) throw new Error(`child run ${link.childRunId} was created but cannot be read`);
      }
      return { runId: child.runId, status: child.status, output: await loadOutput(deps, child), failure: child.failure };
    },
  };
}
