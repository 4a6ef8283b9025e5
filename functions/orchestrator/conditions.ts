import type { TaskSpec } from '../engine/definition/types.js';
import { type ConditionLimits, type ConditionResult, DEFAULT_CONDITION_LIMITS, evaluateCondition } from '../engine/flow/condition.js';
import type { RunItem } from '../store/items.js';
import { getTask } from '../store/tasks.js';
import type { Deps } from './deps.js';

/**
 * Bounds on a `when` evaluation, from the environment: `BATON_CONDITION_TIMEOUT_MS` (default 1000),
 * `BATON_CONDITION_MAX_SIZE` (elements of any intermediate array or string, default 100000),
 * `BATON_CONDITION_MAX_DEPTH` (default 200).
 */
export function conditionLimits(env: NodeJS.ProcessEnv = process.env): ConditionLimits {
  const num = (v: string | undefined, d: number) => {
    const n = Number(v);
    return v !== undefined && v !== '' && Number.isFinite(n) && n > 0 ? n : d;
  };
  return {
    timeoutMs: num(env.BATON_CONDITION_TIMEOUT_MS, DEFAULT_CONDITION_LIMITS.timeoutMs),
    maxSize: num(env.BATON_CONDITION_MAX_SIZE, DEFAULT_CONDITION_LIMITS.maxSize),
    maxDepth: num(env.BATON_CONDITION_MAX_DEPTH, DEFAULT_CONDITION_LIMITS.maxDepth),
  };
}

/**
 * Evaluates the `when` of a task whose join rule let it run, over its params, its direct upstream
 * tasks (status and output, read only here: a task without `when` reads nothing) and its run.
 */
export async function checkWhen(deps: Deps, run: RunItem, spec: TaskSpec & { when: string }): Promise<ConditionResult> {
  const ups = await Promise.all(spec.after.map((d) => getTask(deps.db, run.runId, d)));
  const tasks: Record<string, { status: string; output?: unknown }> = {};
  for (const t of ups) if (t) tasks[t.name] = { status: t.status, output: t.output };
  const scope = { params: run.params ?? {}, tasks, run: { id: run.runId, workflow: run.workflow } };
  return evaluateCondition(spec.when, scope, conditionLimits());
}
