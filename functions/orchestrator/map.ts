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
  handOver,
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

/** Graces past the first that the master gives a worker to hand on the slot of the item it ended. */
const GRACE_ROUNDS = 3;

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
    await prepare(deps, run.runId, t, items as unknown[], await carried(deps, run.runId, t, items as unknown[]));
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

/**
 * Creates every item (a repeat after a crash finds the ones that exist and writes nothing new); an item
 * in `carry` is created already succeeded, with the earlier attempt's output.
 */
async function prepare(deps: Deps, runId: string, t: TaskItem, items: unknown[], carry: Map<number, unknown>) {
  let i = 0;
  const from = t.attempt - 1;
  const worker = async () => {
    while (i < items.length) {
      const index = i++;
      const c = carry.has(index) ? { from, output: carry.get(index) } : undefined;
      await createItem(deps.db, runId, t.name, t.attempt, index, items[index] ?? null, deps.now(), c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_PARALLELISM, items.length) }, worker));
}

/**
 * A recovered map runs again only the items that did not succeed: the outputs of the previous attempt's
 * succeeded items, by index, for the items whose value is unchanged (an upstream task that ran again
 * may have changed the list). Empty for a map that was not recovered, or whose previous attempt never
 * created its items. One read of the previous attempt's items, once per recovered map attempt.
 */
async function carried(deps: Deps, runId: string, t: TaskItem, items: unknown[]): Promise<Map<number, unknown>> {
  const out = new Map<number, unknown>();
  if (t.recovered === undefined || t.attempt < 2 || !(await getControl(deps.db, runId, t.name, t.attempt - 1))) return out;
  for (const old of await allItems(deps.db, runId, t.name, t.attempt - 1)) {
    const same = old.index < items.length && JSON.stringify(old.item ?? null) === JSON.stringify(items[old.index] ?? null);
    if (old.status === 'succeeded' && same) out.set(old.index, old.output ?? null);
  }
  return out;
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
    ctl = await launch(deps, runId, taken, index, k, item);
  }
  return ctl;
}

/** Offered each item queued by an item's ending: true when the caller runs it itself (eager dispatch). */
export type Keep = (t: TaskItem, spec: TaskSpec) => boolean;

/**
 * Queues item `index`, which holds `slot`, and dispatches it (unless `keep` takes it). An item a
 * recovered map carried over (already succeeded) passes the slot straight on, and so on until an item
 * starts or none remains. Returns the control item as this call last wrote it.
 */
async function launch(deps: Deps, runId: string, ctl: MapControl, index: number, slot: number, item: TaskSpec, keep?: Keep) {
  for (;;) {
    const name = mapItemName(ctl.map, ctl.attempt, index);
    const started = await startItem(deps.db, runId, name, slot, deps.now(), item.timeoutMs);
    if (started) {
      const kept = keep?.(started, item) === true;
      deps.log.info(
        { run: runId, task: name, attempt: started.attempt, slot, from: 'blocked', to: 'queued', eager: kept || undefined },
        'task transition',
      );
      if (!kept) await dispatchAttempt(deps, started);
      return ctl;
    }
    const it = (await getTask(deps.db, runId, name)) as MapItem | undefined;
    if (it?.carried === undefined || it.status !== 'succeeded') return ctl;
    const handed = await handOver(deps.db, ctl, slot, index, 'succeeded');
    const next = handed?.[`slot${slot}`];
    if (!handed || next === undefined) return (await releaseSlot(deps.db, ctl, slot, index, 'succeeded')) ?? ctl;
    ctl = handed;
    index = next;
  }
}

/**
 * Finishes what a crash left half done for each slot holder: an item that took its slot but was never
 * queued is queued; one that ended without giving its slot back gives it back, handing it on as its
 * ender would have (`itemEnded`); one held while the run was paused is queued again. Slots are
 * independent, so they are looked at side by side.
 */
async function repair(deps: Deps, runId: string, ctl: MapControl, spec: TaskSpec): Promise<MapControl> {
  await Promise.all(
    heldSlots(ctl).map(async ({ slot, index }) => {
      const it = (await getTask(deps.db, runId, mapItemName(ctl.map, ctl.attempt, index))) as MapItem | undefined;
      if (!it) return;
      if (it.status === 'blocked') await launch(deps, runId, ctl, index, slot, spec);
      else if (TERMINAL_TASK.has(it.status)) await itemEnded(deps, it);
      else if (it.status === 'queued' && it.held) {
        const q = await unhold(deps.db, it, deps.now());
        if (q) await dispatchAttempt(deps, q);
      }
    }),
  );
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
 * An item ended (called by whoever advances the run from its ending: the worker inline, then the master
 * from its record, on every delivery). The caller that finds the item still holding its slot gives the
 * slot back, counting how it ended, exactly once; while the run runs, the map attempt is open and items
 * remain, it hands the slot straight to the next item in that same write (`handOver`) and queues that
 * item, which the worker may run itself (`keep`, eager dispatch). So the map advances item by item with
 * no read of `next`, no race between items that end together, and without its own attempt running.
 * A later caller finds the slot given back; it reads the slot's new holder and queues it if a crash left
 * it blocked (the master re-driving an ending that its worker advances first gives it a grace period
 * before racing it). Free slots (a slot given back while the run was paused) are filled; once nothing is left to
 * wait for, the map attempt is woken.
 */
export async function itemEnded(deps: Deps, item: TaskItem, opts: { keep?: Keep; reprocess?: boolean } = {}): Promise<void> {
  const { keep } = opts;
  const ref = parseMapItemName(item.name);
  if (!ref || !TERMINAL_TASK.has(item.status)) return;
  const { db } = deps;
  // The worker reads what decides whether the map may go on beside the control item: it is on the path
  // from one item to the next. The master reads it only when it has something to decide.
  let opened = keep ? openMap(deps, item.runId, ref.map, ref.attempt, item.name) : undefined;
  const open = () => {
    opened ??= openMap(deps, item.runId, ref.map, ref.attempt, item.name);
    return opened;
  };
  let ctl = await getControl(db, item.runId, ref.map, ref.attempt);
  if (!ctl) return;
  const slot = (item as MapItem).slot ?? slotOf(ctl, ref.index);
  // The worker that ended the item hands its slot on itself: a record read soon after the ending can
  // overtake it, so give it `BATON_INLINE_GRACE_MS` from the ending (as the master's advance does), and on
  // a slow endpoint up to GRACE_ROUNDS graces more, a read each, before racing it (a failed write each).
  const grace = db.config.inlineGraceMs;
  const until = (item.endedAt ?? 0) + grace * (1 + GRACE_ROUNDS);
  while (opts.reprocess && slot !== undefined && ctl[`slot${slot}`] === ref.index && deps.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(grace, until - deps.now())));
    ctl = (await getControl(db, item.runId, ref.map, ref.attempt)) ?? ctl;
  }
  let launched = false;
  if (slot !== undefined && ctl[`slot${slot}`] === ref.index) {
    const o = more(ctl) ? await open() : undefined;
    const handed = o ? await handOver(db, ctl, slot, ref.index, outcomeOf(item)) : undefined;
    const next = handed?.[`slot${slot}`];
    if (handed && o && next !== undefined) {
      ctl = await launch(deps, item.runId, handed, next, slot, o.spec, keep);
      launched = true;
    } else {
      ctl =
        (await releaseSlot(db, ctl, slot, ref.index, outcomeOf(item))) ?? (await getControl(db, item.runId, ref.map, ref.attempt)) ?? ctl;
    }
  }
  const holder = slot === undefined ? undefined : ctl[`slot${slot}`];
  if (!launched && holder !== undefined && holder !== ref.index) {
    // Given back already (by another delivery of this ending): the slot's new holder is queued, unless
    // the writer that handed it on died before queueing it.
    const read = async () => (await getTask(db, item.runId, mapItemName(ref.map, ref.attempt, holder))) as MapItem | undefined;
    let h = await read();
    // The worker that handed it on is queueing it right now, most likely: one more grace before racing it.
    if (opts.reprocess && h?.status === 'blocked' && grace > 0) {
      await new Promise((r) => setTimeout(r, grace));
      h = await read();
    }
    const o = (h?.status === 'blocked' || h?.carried !== undefined) && h.slot === undefined ? await open() : undefined;
    if (o && slot !== undefined) ctl = await launch(deps, item.runId, ctl, holder, slot, o.spec, keep);
  }
  if (more(ctl) && freeSlots(ctl).length > 0) {
    const o = await open();
    if (o) ctl = await fill(deps, item.runId, ctl, o.spec);
  }
  if (!finished(ctl)) return;
  const o = await open();
  if (o) await wakeMap(deps, o.map);
}

/** True while the control item lets another item start: one remains, and failures are tolerated. */
const more = (c: MapControl) => c.next < c.total && c.failed <= c.tolerated;

/** The map attempt an item belongs to, and the item spec, while its run runs and the attempt is open. */
async function openMap(deps: Deps, runId: string, mapName: string, attempt: number, itemName: string) {
  const [run, map] = await Promise.all([getRun(deps.db, runId), getTask(deps.db, runId, mapName)]);
  // A paused run starts nothing (its resume wakes the map); an ended run or map attempt is left alone.
  if (run?.status !== 'running' || !map || map.attempt !== attempt || TERMINAL_TASK.has(map.status)) return undefined;
  const spec = await itemSpecOf(deps, run, itemName);
  return spec ? { map, spec } : undefined;
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
