import { itemsProblem, type MapConfig, mapConfigOf } from '../engine/definition/map.js';
import { type RenderScope, render, TemplateError } from '../engine/definition/template.js';
import type { TaskSpec, WorkflowDefinition } from '../engine/definition/types.js';
import { type RunItem, type TaskItem, TERMINAL_TASK } from '../store/items.js';
import {
  allItems,
  createControl,
  createItem,
  freeSlots,
  getControl,
  heldSlots,
  type ItemOutcome,
  type MapControl,
  type MapItem,
  releaseSlot,
  slotOf,
  startItem,
  takeSlot,
} from '../store/map-items.js';
import { mapItemName, parseMapItemName } from '../store/map-names.js';
import { getRun } from '../store/runs.js';
import { unhold } from '../store/task-operations.js';
import { getTask, requestWake, wake } from '../store/tasks.js';
import type { Outcome } from '../tasks/executor.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';
import { loadWorkflow } from './workflows.js';

/**
 * Dynamic map. The map task's attempt is a worker attempt like any other, resumable: its first pass
 * renders `items`, creates one blocked item per entry (deterministic keys: `m@attempt[index]`) and then
 * the control item, and every pass (the first, each wake-up, each periodic re-check) repairs what a
 * crash left half done, starts items into free slots, and either suspends or, once every item has ended,
 * ends the map with the item outputs in item order. Each item is a task of its own (attempts, retries,
 * lease, fence), run by the ordinary worker; when one ends, `itemEnded` gives its slot back and starts
 * the next item, so the map advances without its own attempt running. Item writes: a put, a slot taken,
 * the item queued, claimed and finished, the slot given back: a constant number per item.
 */

/** Reasons a map task fails with (members of the FailureReason union, engine/failure-reason.ts). */
export const MAP_REASONS = {
  /** `items` did not render to an array of at most MAX_MAP_ITEMS entries. */
  items: 'map_items',
  /** More items failed than `failure.tolerated` allows. */
  itemsFailed: 'map_items_failed',
} as const;

/** Items created at once while a map prepares its items. */
const CREATE_PARALLELISM = 16;

/** The spec a task name runs: the definition's task, or for a map item its map's `task`. */
export function specOf(def: WorkflowDefinition, name: string): TaskSpec | undefined {
  if (Object.hasOwn(def.tasks, name)) return def.tasks[name];
  const ref = parseMapItemName(name);
  return ref ? mapConfigOf(def.tasks[ref.map])?.task : undefined;
}

/** True for a map item's task. */
export const isMapItem = (t: Pick<TaskItem, 'name'>): boolean => parseMapItemName(t.name) !== undefined;

/** The `${item}` / `${index}` scope of an item's attempt (nothing for any other task). */
export function itemScope(t: TaskItem): Pick<RenderScope, 'item'> {
  const m = t as MapItem;
  return parseMapItemName(t.name) && m.index !== undefined ? { item: { value: m.item ?? null, index: m.index } } : {};
}

/** True when the map attempt has nothing left to wait for. */
const finished = (c: MapControl) => c.done >= c.total || (c.failed > c.tolerated && c.done >= c.next);

/** One pass of a map attempt (see the module comment). `scope` renders `items`. */
export async function runMap(deps: Deps, run: RunItem, spec: TaskSpec, t: TaskItem, scope: RenderScope): Promise<Outcome> {
  const cfg = mapConfigOf(spec) as MapConfig;
  let ctl = await getControl(deps.db, run.runId, t.name, t.attempt);
  if (!ctl) {
    let items: unknown;
    try {
      items = typeof cfg.items === 'string' ? render(cfg.items, scope) : cfg.items;
    } catch (err) {
      if (err instanceof TemplateError) return { status: 'failed', reason: 'template', message: err.message, retryable: false };
      throw err;
    }
    const problem = itemsProblem(items);
    if (problem) return { status: 'failed', reason: MAP_REASONS.items, message: problem, retryable: false };
    await prepare(deps, run.runId, t, items as unknown[]);
    const c = { runId: run.runId, map: t.name, attempt: t.attempt, total: (items as unknown[]).length };
    await createControl(deps.db, { ...c, concurrency: cfg.concurrency, tolerated: cfg.tolerated });
    ctl = (await getControl(deps.db, run.runId, t.name, t.attempt)) as MapControl;
    deps.log.info({ run: run.runId, task: t.name, attempt: t.attempt, items: ctl.total }, 'map items created');
  }
  ctl = await repair(deps, run.runId, ctl, cfg.task);
  ctl = await fill(deps, run.runId, ctl, cfg.task);
  if (finished(ctl)) return collect(deps, ctl);
  return { status: 'suspended', until: deps.now() + deps.db.config.recheckMs };
}

/** Creates every item (a repeat after a crash finds the ones that exist and writes nothing new). */
async function prepare(deps: Deps, runId: string, t: TaskItem, items: unknown[]) {
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const index = i++;
      await createItem(deps.db, runId, t.name, t.attempt, index, items[index] ?? null, deps.now());
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_PARALLELISM, items.length) }, worker));
}

/**
 * Starts items into free slots, in index order, while items remain and failures are tolerated. Racing
 * callers each take a slot with one conditional write; a loser reads the control item again.
 */
async function fill(deps: Deps, runId: string, ctl: MapControl, item: TaskSpec): Promise<MapControl> {
  for (let round = 0; round < ctl.concurrency * 4 + 8; round++) {
    if (ctl.next >= ctl.total || ctl.failed > ctl.tolerated) return ctl;
    const k = freeSlots(ctl)[0];
    if (k === undefined) return ctl;
    const index = ctl.next;
    const taken = await takeSlot(deps.db, ctl, k, index);
    if (!taken) {
      ctl = (await getControl(deps.db, runId, ctl.map, ctl.attempt)) ?? ctl;
      continue;
    }
    ctl = taken;
    await launch(deps, runId, ctl, index, k, item);
  }
  return ctl;
}

async function launch(deps: Deps, runId: string, ctl: MapControl, index: number, slot: number, item: TaskSpec) {
  const name = mapItemName(ctl.map, ctl.attempt, index);
  const started = await startItem(deps.db, runId, name, slot, deps.now(), item.timeoutMs);
  if (!started) return;
  deps.log.info({ run: runId, task: name, attempt: started.attempt, slot, from: 'blocked', to: 'queued' }, 'task transition');
  await dispatchAttempt(deps, started);
}

/**
 * Finishes what a crash left half done for each slot holder: an item that took its slot but was never
 * queued is queued; one that ended without giving its slot back gives it back; one held while the run
 * was paused is queued again.
 */
async function repair(deps: Deps, runId: string, ctl: MapControl, spec: TaskSpec): Promise<MapControl> {
  for (const { slot, index } of heldSlots(ctl)) {
    const name = mapItemName(ctl.map, ctl.attempt, index);
    const it = (await getTask(deps.db, runId, name)) as MapItem | undefined;
    if (!it) continue;
    if (it.status === 'blocked') await launch(deps, runId, ctl, index, slot, spec);
    else if (TERMINAL_TASK.has(it.status)) ctl = (await releaseSlot(deps.db, ctl, slot, index, outcomeOf(it))) ?? ctl;
    else if (it.status === 'queued' && it.held) {
      const q = await unhold(deps.db, it, deps.now());
      if (q) await dispatchAttempt(deps, q);
    }
  }
  return (await getControl(deps.db, runId, ctl.map, ctl.attempt)) ?? ctl;
}

const outcomeOf = (t: TaskItem): ItemOutcome => (t.status === 'succeeded' ? 'succeeded' : t.status === 'failed' ? 'failed' : 'other');

/** The map's outcome once every item it will run has ended: the outputs in item order, or a failure. */
async function collect(deps: Deps, ctl: MapControl): Promise<Outcome> {
  if (ctl.failed > ctl.tolerated) {
    const first = (await allItems(deps.db, ctl.runId, ctl.map, ctl.attempt)).find((i) => i.status === 'failed');
    const why = first ? `; item ${first.index}: ${first.error?.reason ?? 'failed'}: ${first.error?.message ?? ''}` : '';
    const message = `${ctl.failed} of ${ctl.total} items failed (tolerated: ${ctl.tolerated}); ${ctl.total - ctl.next} not started${why}`;
    return { status: 'failed', reason: MAP_REASONS.itemsFailed, message };
  }
  const items = await allItems(deps.db, ctl.runId, ctl.map, ctl.attempt);
  return { status: 'succeeded', output: items.map((i) => (i.status === 'succeeded' ? (i.output ?? null) : null)) };
}

/**
 * An item ended (called by the master for a terminal item, on every delivery): give its slot back,
 * counting how it ended, exactly once; then, while the run runs and the map attempt is still open, start
 * the next items, and wake the map attempt once nothing is left to wait for.
 */
export async function itemEnded(deps: Deps, item: TaskItem): Promise<void> {
  const ref = parseMapItemName(item.name);
  if (!ref || !TERMINAL_TASK.has(item.status)) return;
  const { db } = deps;
  let ctl = await getControl(db, item.runId, ref.map, ref.attempt);
  if (!ctl) return;
  const slot = (item as MapItem).slot ?? slotOf(ctl, ref.index);
  if (slot !== undefined && ctl[`slot${slot}`] === ref.index) {
    ctl = (await releaseSlot(db, ctl, slot, ref.index, outcomeOf(item))) ?? (await getControl(db, item.runId, ref.map, ref.attempt)) ?? ctl;
  }
  // A paused run starts nothing (its resume wakes the map); an ended run or map attempt is left alone.
  const [run, map] = await Promise.all([getRun(db, item.runId), getTask(db, item.runId, ref.map)]);
  if (run?.status !== 'running' || !map || map.attempt !== ref.attempt || TERMINAL_TASK.has(map.status)) return;
  const spec = await itemSpecOf(deps, run, item.name);
  if (spec) ctl = await fill(deps, item.runId, ctl, spec);
  if (finished(ctl)) await wakeMap(deps, map);
}

async function itemSpecOf(deps: Deps, run: RunItem, name: string) {
  return specOf((await loadWorkflow(deps.db, run.workflow, run.version)).definition, name);
}

/** Wakes a map attempt that suspended (or flags one that is running, so that it does not suspend). */
export async function wakeMap(deps: Deps, map: TaskItem): Promise<void> {
  if (map.status === 'running') {
    await requestWake(deps.db, map.runId, map.name, map.attempt);
    return;
  }
  if (map.status !== 'waiting' || map.wake !== 'resume') return;
  const woken = await wake(deps.db, map, deps.now());
  if (!woken) return;
  deps.log.info({ run: map.runId, task: map.name, attempt: map.attempt, from: 'waiting', to: 'queued' }, 'task transition');
  await dispatchAttempt(deps, woken);
}
