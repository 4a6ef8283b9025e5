import { MAP_TYPE } from '../engine/definition/map.js';
import { type RunItem, type TaskError, type TaskItem, TERMINAL_TASK } from '../store/items.js';
import { getControl, heldSlots, type MapControl } from '../store/map-items.js';
import { mapItemName } from '../store/map-names.js';
import { getRun, runItems } from '../store/runs.js';
import { cancelTask } from '../store/task-operations.js';
import { getTask } from '../store/tasks.js';
import type { Deps } from './deps.js';
import { wakeMap } from './map.js';
import { loadWorkflow } from './workflows.js';

/**
 * Run operations over maps. Pause needs nothing of its own: an item claimed while its run is paused is
 * held like any task, and an item that ends while paused starts no other. Resume wakes every suspended
 * map attempt (`wakeMaps`), whose pass re-queues held items and fills free slots. Cancel fences out the
 * items that hold slots (`stopMaps`); items never started stay blocked and never start, since nothing
 * starts items in an ended run. Recover resets the map task like any task; its next attempt is a new
 * map (new item keys) that carries over the items that succeeded (created succeeded, with their output)
 * and runs the others: failed, cancelled, never started (`carried` in map.ts). The old attempt's items
 * keep their history.
 */

/** The map tasks of a run that have an attempt, from its items. */
async function mapTasks(deps: Deps, run: RunItem, items?: Record<string, unknown>[]): Promise<TaskItem[]> {
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const names = Object.entries(wf.definition.tasks)
    .filter(([, s]) => s.type === MAP_TYPE)
    .map(([n]) => n);
  if (names.length === 0) return [];
  const all = items ?? (await runItems(deps.db, run.runId));
  return all.filter((i) => i.kind === 'task' && names.includes(i.name as string)) as unknown as TaskItem[];
}

/** The run runs again (resumed, or re-checked by the watchdog): wake its suspended map attempts. */
export async function wakeMaps(deps: Deps, runId: string, items?: Record<string, unknown>[]): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'running') return;
  const maps = await mapTasks(deps, run, items);
  await Promise.all(maps.filter((m) => m.status === 'waiting').map((m) => wakeMap(deps, m)));
}

/** The run was cancelled: cancel the items that hold slots (a running one is fenced out, as any task). */
export async function stopMaps(deps: Deps, runId: string): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'cancelled') return;
  const error: TaskError = { reason: 'cancelled', message: run.cancelReason ?? 'the run was cancelled' };
  for (const m of await mapTasks(deps, run)) {
    const ctl = await getControl(deps.db, runId, m.name, m.attempt);
    if (!ctl) continue;
    await Promise.all(
      heldSlots(ctl).map(async ({ index }) => {
        const t = await getTask(deps.db, runId, mapItemName(m.name, m.attempt, index));
        if (!t || TERMINAL_TASK.has(t.status)) return;
        const done = await cancelTask(deps.db, t, deps.now(), error);
        if (done) deps.log.info({ run: runId, task: t.name, attempt: t.attempt, from: t.status, to: 'cancelled' }, 'task transition');
      }),
    );
  }
}

/** A map's progress as `GET /runs/{id}` shows it: item counts by status, from its control item alone. */
export interface MapProgress {
  readonly attempt: number;
  readonly items: number;
  readonly concurrency: number;
  readonly counts: {
    readonly notStarted: number;
    readonly active: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly other: number;
  };
}

export function progressOf(c: MapControl): MapProgress {
  return {
    attempt: c.attempt,
    items: c.total,
    concurrency: c.concurrency,
    counts: { notStarted: c.total - c.next, active: c.next - c.done, succeeded: c.succeeded, failed: c.failed, other: c.other },
  };
}

/** The progress of every map task of a run that has created its items, by task name. */
export async function mapProgress(deps: Deps, run: RunItem, items: Record<string, unknown>[]): Promise<Record<string, MapProgress>> {
  const out: Record<string, MapProgress> = {};
  const maps = await mapTasks(deps, run, items).catch(() => []);
  await Promise.all(
    maps.map(async (m) => {
      const c = await getControl(deps.db, run.runId, m.name, m.attempt);
      if (c) out[m.name] = progressOf(c);
    }),
  );
  return out;
}
