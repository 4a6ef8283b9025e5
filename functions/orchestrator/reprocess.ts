import type { TaskSpec } from '../engine/definition/types.js';
import { keys, type RunItem, type TaskItem, TERMINAL_RUN } from '../store/items.js';
import { getTask, unindexedInFlight } from '../store/tasks.js';
import { isCounted } from './counted-join.js';
import type { Deps } from './deps.js';
import { loadWorkflow } from './workflows.js';

/**
 * The master re-processing an ending whose worker advanced the run inline (`TaskItem.inlineAdvance`,
 * `AdvanceOptions.reprocess` in master.ts): what is left to do, found by reading the successors, not
 * the run, and the successors it sees in flight out of the due index, watched (overdue.ts).
 */

/**
 * The direct successors of an ended task that the advance its writer made inline has not told yet:
 * from the stream images received since the ending where they show it (`Deps.images`), else one read
 * per successor, and none of the run; undefined when that cannot be known (a sink is left,
 * after the grace, to the full advance, which reads the run first and stops there once the run is
 * finished; an item without the workflow written when it was queued says nothing).
 */
export async function untoldSuccessors(deps: Deps, task: TaskItem, sequence?: string): Promise<Set<string> | undefined> {
  if (task.workflow === undefined || task.version === undefined) return undefined;
  const wf = await loadWorkflow(deps.db, task.workflow, task.version);
  const grace = deps.db.config.inlineGraceMs;
  const endOfGrace = (task.endedAt ?? 0) + grace;
  const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
  // What the stream already showed of an item after this ending's own record (stream-images.ts): a state the
  // item had since the ending, as an eventually consistent read would return. Nothing without the sequence.
  const images = sequence === undefined ? undefined : deps.images;
  const waitFor = async (done: () => boolean, deadline = endOfGrace) => {
    if (images) return images.until(done, deadline, deps.now);
    await sleep(deadline - deps.now());
    return false;
  };
  // Waits for `done`, or for `deadline` and, where the stream is read ahead (local), a read of it begun
  // since: a record handled after its grace (a busy process) still learns what was written before now.
  const caughtUp = async (done: () => boolean, deadline: number) => {
    if (!images?.readsAhead) return waitFor(done, deadline);
    const mark = Date.now() + Math.max(0, deadline - deps.now());
    await images.until(() => done() || images.readSince(mark), Math.max(deadline, deps.now()) + grace, deps.now);
    return done();
  };
  if (wf.graph.sinks.includes(task.name)) {
    // Give the writer's own advance its grace first: it finishes the run, and a full advance that read the
    // run before that would race it to the same finish (a failed write, billed) instead of stopping there.
    // A run the stream showed over since this ending needs no advance at all (one that reads it would stop there).
    const over = () => {
      const run = images?.after<RunItem>(keys.run(task.runId), sequence);
      return run !== undefined && TERMINAL_RUN.has(run.status);
    };
    return (await waitFor(over)) ? new Set() : undefined;
  }
  const seen = new Map<string, TaskItem>(); // the last view (read or image) of each successor
  const untold = async (among: readonly string[], consistent: boolean) => {
    const told = await Promise.all(
      among.map(async (s) => {
        const t = await getTask(deps.db, task.runId, s, consistent);
        if (t) seen.set(s, t);
        return t !== undefined && wasTold(t, task.name, wf.definition.tasks[s]);
      }),
    );
    return among.filter((_, i) => !told[i]);
  };
  // A counted join is told by this record's advance, never inline (counted-join.ts): always untold, no read.
  const all = wf.graph.successors[task.name] ?? [];
  const counted = all.filter((s) => isCounted(wf.definition.tasks[s]));
  // A successor whose image since this ending shows it told needs no read (the worker's inline advance
  // writes it right after the ending, so its record is usually in the same batch, or an earlier-handled
  // one), unless that image shows it in flight out of the due index, where a read tells whether it needs
  // a timer: one still queued (waiting for a worker) gets the timer from the image, as a read showing it
  // queued would give it; one running (an eager holder, usually done within the grace) is read.
  const toldByImage = (s: string) => {
    const t = images?.after<TaskItem>(keys.task(task.runId, s), sequence);
    return t !== undefined && wasTold(t, task.name, wf.definition.tasks[s]) ? t : undefined;
  };
  const settled = (s: string) => {
    const t = toldByImage(s);
    return t !== undefined && (!unindexedInFlight(t) || t.status === 'queued');
  };
  // A record read soon after its write can overtake the writer's own advance: look first when that
  // advance has had `BATON_INLINE_GRACE_MS` from the ending (one read per successor, not a read before
  // and another after), and if some are still untold (a wide fan-out's advance takes longer), once more
  // a grace later; then race only what is still untold (safe, only billed). Within the first grace, the
  // images noted meanwhile settle successors too (it ends as soon as every one is), never past it.
  // The first look reads at half the units (eventually consistent): a successor it shows told is told
  // (an item only moves on from blocked; a recovery's reset, the one way back, is the watchdog's), and one
  // it shows untold is looked at again, consistently, before anything acts on it. The same holds for an
  // image, with one more guard: only an image written after this ending counts, so an image from before a
  // recovery's reset (older than the re-run ending) never stands for the told successor.
  // Waits until `deadline` for images to settle `among`, a grace more each time some came in while it
  // waited (`progress`; the writer's advance is still moving: a wide fan-out's takes longer than a grace), never past
  // `WAIT_GRACES` graces or, if later, one lease after the ending; records their views; returns the others.
  // Why the lease: a writer still settling successors every grace is alive and on its way (the bench's
  // fan-out of 998 takes longer than 10 graces to queue; what was left then was read, 0.5 RRU per task),
  // while one that stopped stops the wait within a grace; a lease is how long the engine lets a holder
  // go unheard. Only where the stream is read ahead (local) do images keep coming while this waits.
  const unsettled = async (among: readonly string[], deadline: number) => {
    const pending = new Set(among);
    const done = () => {
      for (const s of pending) if (settled(s)) pending.delete(s);
      return pending.size === 0;
    };
    // How far the writer has gone: successors settled, and unsettled ones it has written (an image of an
    // eager holder, running out of the due index). The first writes of a wide fan-out can come after a
    // record handled late has waited out its grace: an image that shows the writer at work counts too.
    const progress = () => among.length - pending.size + [...pending].filter((s) => images?.has(keys.task(task.runId, s), sequence)).length;
    if (among.length > 0 && !done()) {
      const cap = Math.max(Math.max(deadline, deps.now()) + WAIT_GRACES * grace, (task.endedAt ?? 0) + deps.db.config.leaseMs);
      let before = progress();
      while (!(await caughtUp(done, deadline)) && deps.now() < cap) {
        const now = progress();
        if (now <= before) break; // the writer wrote nothing for a whole wait: dead or done
        before = now;
        deadline = Math.min(cap, deps.now() + grace);
      }
    }
    return among.filter((s) => {
      const t = pending.has(s) ? undefined : toldByImage(s);
      if (t) seen.set(s, t);
      return t === undefined;
    });
  };
  const named = all.filter((s) => !counted.includes(s));
  let left = await untold(await unsettled(named, endOfGrace), grace === 0);
  if (left.length > 0 && grace > 0) left = await untold(await unsettled(left, deps.now() + grace), true);
  await watchInFlight(deps, task, seen, left);
  return new Set([...left, ...counted]);
}

/** How long, in graces, the re-processing of one record waits at least for images that keep coming (`unsettled`). */
const WAIT_GRACES = 10;

/**
 * Asks for a timer, one lease from now, on each successor of `task` seen in flight without a due
 * entry, and on each still untold (this advance races the inline one, whose writes may land
 * unindexed): when it fires, the sweeper's `fireDue` indexes whichever is still in flight (overdue.ts).
 */
async function watchInFlight(deps: Deps, task: TaskItem, seen: ReadonlyMap<string, TaskItem>, untold: readonly string[]) {
  const names = new Set([...[...seen.values()].filter(unindexedInFlight).map((t) => t.name), ...untold]);
  const at = deps.now() + deps.db.config.leaseMs;
  await Promise.all([...names].map((s) => deps.timer(keys.task(task.runId, s), at)));
}

/**
 * A successor item knows that `from` ended: it left `blocked` (it was decided), or, waiting on
 * several dependencies, it recorded `from` and still waits for another one. A blocked item whose
 * dependencies are all recorded is not told: the advance that recorded the last one may have died
 * before deciding it.
 */
function wasTold(t: TaskItem, from: string, spec: TaskSpec | undefined): boolean {
  if (t.status !== 'blocked') return true;
  const after = spec?.after ?? [];
  if (after.length <= 1 || !t.doneDeps?.has(from)) return false;
  return !after.every((d) => t.doneDeps?.has(d));
}
