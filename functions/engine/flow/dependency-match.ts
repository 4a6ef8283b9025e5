/**
 * Which run satisfies a `dependent` task: pure decisions, shared by the task's own check and by the
 * run-end hook that wakes waiting tasks (so that both agree on what "matching" means).
 */
import { isDeepStrictEqual } from 'node:util';
import type { DependentConfig } from '../definition/dependent.js';

/** What a run shows of itself to a dependency check (a run item, or its entry in the runs-by-workflow index). */
export interface RunFacts {
  readonly runId: string;
  readonly status: string;
  readonly createdAt: number;
  readonly trigger?: { readonly type?: string; readonly fireTime?: unknown };
  readonly params?: Readonly<Record<string, unknown>>;
}

/**
 * A run's logical time: the fire time it stands for when a schedule or a backfill started it
 * (`trigger.fireTime`), otherwise the time it was created (its start request). A run is created at or
 * after its logical time, never before, which is what lets a check bound its query by creation time.
 */
export function logicalTime(run: Pick<RunFacts, 'createdAt' | 'trigger'>): number {
  const fire = run.trigger?.fireTime;
  if (typeof fire === 'string') {
    const ms = Date.parse(fire);
    if (Number.isFinite(ms)) return ms;
  }
  return run.createdAt;
}

/** What a waiting task looks for, with its window made absolute (epoch ms, both ends included). */
export interface DependencyCriteria {
  readonly workflow: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly statuses: readonly string[];
  readonly window?: { readonly from: number; readonly to: number };
}

/** The criteria of a dependent task's parsed fields, for a run whose logical time is `logical`. */
export function criteriaFor(config: DependentConfig, logical: number): DependencyCriteria {
  return {
    workflow: config.workflow,
    ...(config.params !== undefined && { params: config.params }),
    statuses: config.statuses,
    ...(config.window !== undefined && { window: { from: logical + config.window.fromMs, to: logical + config.window.toMs } }),
  };
}

/** The run's logical time falls in the window (always, without one). */
export function inWindow(c: DependencyCriteria, run: Pick<RunFacts, 'createdAt' | 'trigger'>): boolean {
  if (!c.window) return true;
  const t = logicalTime(run);
  return t >= c.window.from && t <= c.window.to;
}

/** Every wanted param equals the run's (deep equality: `1` is not `"1"`); params the criteria do not name are free. */
export function paramsMatch(
  want: Readonly<Record<string, unknown>> | undefined,
  have: Readonly<Record<string, unknown>> | undefined,
): boolean {
  if (!want) return true;
  return Object.entries(want).every(([k, v]) => have !== undefined && Object.hasOwn(have, k) && isDeepStrictEqual(have[k], v));
}

/** The run satisfies the criteria: one of the statuses, in the window, params equal. `run.params` must be the run's own. */
export function runMatches(c: DependencyCriteria, run: RunFacts): boolean {
  return c.statuses.includes(run.status) && inWindow(c, run) && paramsMatch(c.params, run.params);
}
