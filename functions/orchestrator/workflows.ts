import { type CompiledWorkflow, compile } from '../engine/definition/graph.js';
import type { WorkflowDefinition } from '../engine/definition/types.js';
import type { Db } from '../store/db.js';
import { getDefinition } from '../store/definitions.js';

export interface LoadedWorkflow {
  readonly definition: WorkflowDefinition;
  readonly graph: CompiledWorkflow;
}

// Definition versions are immutable, so a process may keep them for its whole life.
const cache = new Map<string, Promise<LoadedWorkflow>>();

/** The compiled definition a run pinned. Cached per process. */
export function loadWorkflow(db: Db, name: string, version: number): Promise<LoadedWorkflow> {
  const k = `${db.table}/${name}/${version}`;
  let p = cache.get(k);
  if (!p) {
    p = getDefinition(db, name, version).then((item) => {
      if (!item) throw new Error(`definition ${name} v${version} not found`);
      return { definition: item.definition, graph: compile(item.definition) };
    });
    p.catch(() => cache.delete(k));
    cache.set(k, p);
  }
  return p;
}
