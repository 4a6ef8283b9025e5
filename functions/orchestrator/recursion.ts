import type { ValidationIssue, WorkflowDefinition } from '../engine/definition/types.js';
import type { Db } from '../store/db.js';
import { latestDefinition } from '../store/definitions.js';

/** The workflows a definition starts as sub-workflows, by task (templated names cannot be followed). */
function childrenOf(def: WorkflowDefinition): { task: string; workflow: string }[] {
  return Object.entries(def.tasks)
    .filter(([, t]) => t.type === 'subworkflow' && typeof t.config.workflow === 'string' && !t.config.workflow.includes('${'))
    .map(([task, t]) => ({ task, workflow: t.config.workflow as string }));
}

/**
 * Finds sub-workflow references through which a definition would start itself, directly or through
 * the latest versions of the workflows it starts. What cannot be seen here (a later change to another
 * workflow, a pinned old version) is caught at run time by the lineage check.
 */
export async function findRecursion(db: Db, def: WorkflowDefinition): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  for (const { task, workflow } of childrenOf(def)) {
    const path = `tasks.${task}.workflow`;
    if (workflow === def.name) {
      issues.push({ path, message: `workflow ${def.name} would start itself` });
      continue;
    }
    const seen = new Set<string>([workflow]);
    const queue: string[][] = [[def.name, workflow]];
    while (queue.length > 0) {
      const chain = queue.shift() as string[];
      const latest = await latestDefinition(db, chain[chain.length - 1] as string);
      if (!latest) continue;
      for (const c of childrenOf(latest.definition)) {
        if (c.workflow === def.name) {
          issues.push({ path, message: `workflow ${def.name} would start itself: ${[...chain, def.name].join(' -> ')}` });
          queue.length = 0;
          break;
        }
        if (!seen.has(c.workflow)) {
          seen.add(c.workflow);
          queue.push([...chain, c.workflow]);
        }
      }
    }
  }
  return issues;
}
