import type { TaskSpec } from '../engine/definition/types.js';
import { DEFAULT_TRIGGER, decideJoin, type JoinDecision, type Outcome } from '../engine/flow/join-rule.js';
import { type PromotedBy, type RunItem, type TaskError, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { finishRun, getRun, recordFailure } from '../store/runs.js';
import {
  addSinkDone,
  type EagerStart,
  failUnstarted,
  getSinksDone,
  getTask,
  promote,
  type QueueInfo,
  queueNew,
  recordDep,
  skip,
} from '../store/tasks.js';
import { checkWhen } from './conditions.js';
import { countBeforeRun, countedReadiness, isCounted, onlyCountedAfter, outcomeOf } from './counted-join.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';
import { isMapItem, itemEnded } from './map.js';
import { untoldSuccessors } from './reprocess.js';
import { finishSucceeded } from './run-output.js';
import { type LoadedWorkflow, loadWorkflow } from './workflows.js';

/**
 * The master: advances runs. It holds no lease: every write it makes is an idempotent conditional
 * transition from the state it read, so two masters (or a master and its own retry) racing on the
 * same run make each write at most once, and a zombie's stale write fails its condition.
 *
 * `advance` is the one advance of a run: the worker that ends an attempt calls it inline (see
 * `worker.ts`), the master calls it again from the ending's stream record, the run watchdog from
 * `reconcile`. They differ only in `AdvanceOptions`.
 */

/** How one call of `advance` is made. */
export interface AdvanceOptions {
  /** Who advances: recorded as `promotedBy` by every write that queues a task. */
  readonly by: PromotedBy;
  /**
   * The ended task's writer advances the run itself (the item has `inlineAdvance`): read the
   * successors before writing to them, and stop when every one was already told, so that re-driving
   * an advance that was made bills reads, not failed conditional writes.
   */
  readonly reprocess?: boolean;
  /**
   * The sequence number of the stream record this advance re-processes (`reprocess`): images the master
   * received of items written after it can show a successor told, with no read (`stream-images.ts`).
   */
  readonly sequence?: string;
  /**
   * Eager dispatch: asked (`wants`) before each attempt this advance makes ready; when the caller will
   * run it itself, the write that makes it ready also claims it for `owner` (`store/tasks.ts
   * EagerStart`: one write, not a queue and a claim) and `took` receives the held attempt instead of a
   * dispatch. A held attempt's lease is in the due index like any claim's, so if the caller dies
   * before running it, the sweeper reclaims it and dispatches it again.
   */
  readonly eager?: { readonly owner: string; readonly wants: (spec: TaskSpec) => boolean; readonly took: (t: TaskItem) => void };
  /**
   * This advance is the one for the ended task's own stream record (or the watchdog's): only such an
   * advance counts the ending on a counted join (`counted-join.ts`), so that an ending counts once.
   */
  readonly countJoins?: boolean;
  /**
   * The worker's inline advance: the direct successors it queues stay out of the due index
   * (`QueueInfo.unindexed`); the re-processing of the ending's record watches them (`overdue.ts`).
   */
  readonly unindexed?: boolean;
  /** Counted joins this advance already counted, as the count left them (`countBeforeRun`): decide, do not count again. */
  readonly counted?: ReadonlyMap<string, TaskItem>;
  /**
   * The run as the worker read it before the ending (its inline advance, `worker.ts`): the read that
   * checked the ended attempt's claim, while younger than `BATON_ADVANCE_VIEW_MAX_AGE_MS`, else a read
   * sent concurrently with the ending's write. The advance decides from it instead of reading the run
   * after the ending. This view can predate a pause, a cancel or a recovery that landed before the
   * ending did. What each one needs (none of it depends on how old the view is: the safety comes from the
   * conditional writes and from the successor's own claim check, never from the view being recent):
   * - a pause: nothing here (an advance of a paused run queues as usual); the claim of what it queues
   *   is checked against the run by a read after that claim (`worker.ts attempt`), which holds it;
   * - a cancel (or the run's timeout): a successor queued from this view is claimed by a holder whose
   *   post-claim read finds the run over and abandons it, before its user code (as for a cancel that
   *   lands between an advance's read and its writes, which was always possible);
   * - a recovery (which needs the run ended first, so a cancel and a recovery both in that window): the
   *   advance's check of a late ending does not see it, so every write the advance makes carries this
   *   view's `recoveries` (`notReset`): a task, the join item or the run that the recovery already reset
   *   refuses the write; a write that lands before the reset is undone by the reset; and a held successor
   *   whose own run read shows a newer recovery re-running it is not run (`worker.ts`).
   * What an older view changes is a decision, not a guard: a failure another branch recorded since the
   * view (`failureStrategy: end`) is not seen, so a successor that a fresher view would skip would be
   * queued and run. A read sent with the ending sees every failure recorded before the ending was sent
   * ("once a task has failed, tasks not yet started are skipped"); the read taken at the claim does not,
   * so the worker does not reuse it for a success under `failureStrategy: end` (a failure skips the
   * successors under the default rule whatever the view says), unless no other task can run beside the
   * ended one (`CompiledWorkflow.alone`: then no failure but its own can have been recorded since; a
   * recovery keeps that, as its set is closed downstream). Otherwise `run.failure` decides nothing (the
   * write that records this ending's own failure keeps the first one, and `finalize` reads the run
   * again), a paused view is advanced like a running one, and an ended run that the view shows running
   * only gets successors that their own claim check abandons. Everything else the advance uses from the
   * view (workflow, version, params) never changes during a run.
   */
  readonly run?: RunItem;
}

const BY_MASTER: AdvanceOptions = { by: 'master' };

/**
 * Queues (or skips) a new run's root tasks: the first step of a run's start (run-start.ts). `by`: who starts
 * it. The roots are queued out of the due index: the run's own due entry watches them (run-start.ts).
 * `only`: the roots to settle (the sweeper's repair of a start whose record was lost queues just the
 * roots with no item, indexed, since the run's entry that watched them moves on to the watchdog).
 */
export async function settleRoots(
  deps: Deps,
  run: RunItem,
  wf: LoadedWorkflow,
  by: PromotedBy = 'master',
  only?: readonly string[],
): Promise<void> {
  const names = only ?? wf.graph.roots;
  await Promise.all(names.map((t) => settle(deps, run, wf, { name: t }, { by, unindexed: only === undefined })));
}

/** A task reached a terminal state: move its direct successors (and the run's join) forward. */
export async function advance(deps: Deps, task: TaskItem, opts: AdvanceOptions = BY_MASTER): Promise<void> {
  if (!TERMINAL_TASK.has(task.status)) return;
  // A map item: its map advances, not the run. The item it queues next is the worker's to run (eager), but
  // queued by the map's own write, not claimed by it: the worker claims it as it would a dispatched one.
  if (isMapItem(task)) return itemEnded(deps, task, { ...opts, keep: opts.eager && keepQueued(opts.eager) });
  // A success told only to counted joins, which this advance leaves to the ending's record: no run read.
  if (!opts.countJoins && (await onlyCountedAfter(deps, task))) return;
  // Re-processing an inline advance: only the successors it has not told yet (usually none).
  const only = opts.reprocess ? await untoldSuccessors(deps, task, opts.sequence) : undefined;
  if (only?.size === 0) return;
  // Told only to counted joins: count first, and read the run only for a join whose count is complete.
  const counted = only && opts.countJoins ? await countBeforeRun(deps, task, only) : undefined;
  if (counted?.size === 0) return;
  if (counted) opts = { ...opts, counted };
  const run = opts.run ?? (await getRun(deps.db, task.runId));
  if (!run || TERMINAL_RUN.has(run.status)) return;
  // An ending from before the run's latest recovery (a late record of a task the recovery re-runs, such as
  // one cancelled as its run timed out): the recovery reset that task, so this ending advances nothing.
  if (run.recovery?.tasks.includes(task.name) && (task.recovered ?? 0) < run.recovery.n) return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  let failure = run.failure;
  if (task.status === 'failed') {
    const f: RunFailure = { task: task.name, reason: task.error?.reason ?? 'error', message: task.error?.message ?? '' };
    // The write keeps the first failure (its condition); one already read needs no failed write to learn that.
    if (!failure) await recordFailure(deps.db, run.runId, f, seenOf(run));
    failure ??= f;
  }
  const ending = wf.definition.failureStrategy === 'end' && failure !== undefined ? runEnding(failure) : undefined;
  const outcome = outcomeOf(task);
  await Promise.all(
    (wf.graph.successors[task.name] ?? [])
      .filter((s) => (only === undefined || only.has(s)) && (counted === undefined || counted.has(s)))
      .filter((s) => opts.countJoins || !isCounted(wf.definition.tasks[s]))
      .map((s) => settle(deps, run, wf, { name: s, from: task.name, outcome, status: task.status, ending }, opts)),
  );
  if (wf.graph.sinks.includes(task.name)) await sinkDone(deps, run, wf, task.name, opts);
}

type RunFailure = NonNullable<RunItem['failure']>;

/** The recovery count of a view of the run, which every write of an advance from that view carries (`notReset`). */
const seenOf = (run: RunItem): number => run.recoveries ?? 0;

function runEnding(failure: RunItem['failure']): TaskError {
  return {
    reason: 'run_failed',
    message: `not started: the run is ending after ${failure?.task ?? 'a task'} failed (failureStrategy end)`,
  };
}

/** One task to decide: a root (no `from`), or a successor told that its dependency `from` ended with `outcome`. */
interface Step {
  readonly name: string;
  readonly from?: string;
  readonly outcome?: Outcome;
  /** The status `from` ended with (for messages). */
  readonly status?: string;
  /** Set when the run is ending (failureStrategy end): tasks under the default join rule do not start. */
  readonly ending?: TaskError;
  /**
   * A task a recovery reset to `blocked` whose dependencies all stayed done: they succeeded (recover
   * refuses otherwise), so its join rule is decided over that, and a run is a promotion of the reset item.
   */
  readonly recovered?: boolean;
}

/**
 * Decides a task that a recovery reset and whose dependencies are all outside the recovered set: its
 * join rule (over dependencies that succeeded) and its `when`, exactly as for a first run.
 */
export function settleRecovered(deps: Deps, run: RunItem, wf: LoadedWorkflow, name: string): Promise<void> {
  return settle(deps, run, wf, { name, recovered: true }, BY_MASTER);
}

/**
 * Decides tasks whose dependencies may have settled: queues those whose join rule fires and whose
 * `when` holds, skips the others, and follows each skip downstream inline, so that a failure early in
 * a long chain does not take one event round trip per skipped task. A task with several dependencies
 * records each one's outcome on its own item (an idempotent set add) and is decided only once every
 * one of them has ended: until then a branch above it may still be running, and deciding early could
 * finish the run (through its sinks) while that branch runs. Every transition is conditional on the
 * task still being new or blocked, so a duplicate delivery or a racing master decides it once.
 */
async function settle(deps: Deps, run: RunItem, wf: LoadedWorkflow, first: Step, opts: AdvanceOptions) {
  const base: QueueInfo = { by: opts.by, workflow: run.workflow, version: run.version, seen: seenOf(run) };
  const work: Step[] = [first];
  while (work.length > 0) {
    const w = work.pop() as Step;
    const spec = wf.definition.tasks[w.name];
    if (!spec) continue;
    const ready = await readiness(deps, run, spec, w, opts);
    if (!ready) continue;
    let { decision, error } = ready;
    if (decision.kind === 'run' && spec.when !== undefined) {
      const c = await checkWhen(deps, run, { ...spec, when: spec.when });
      if (!c.ok) {
        const e: TaskError = { reason: 'expression', message: `when: ${c.message}` };
        const failed = await failUnstarted(deps.db, run.runId, w.name, deps.now(), e, seenOf(run));
        if (failed) {
          deps.log.warn({ run: run.runId, task: w.name, from: 'blocked', to: 'failed', reason: e.reason, error: e }, 'task transition');
          await advance(deps, failed, {
            ...opts,
            reprocess: false,
            countJoins: false,
            unindexed: false,
            counted: undefined,
            run: undefined,
          });
        }
        continue;
      }
      if (!c.value) {
        decision = { kind: 'skip', upstreamFailed: false, message: 'condition false' };
        error = { reason: 'condition', message: `when is false: ${spec.when}` };
      }
    }
    if (decision.kind === 'run') {
      // Only a direct successor of the ending is unindexed: the re-processing of its record looks at those alone.
      const q: QueueInfo = { ...base, ...(opts.unindexed && w === first && { unindexed: true }) };
      const promoted = spec.after.length > 1 || w.recovered;
      const e = opts.eager?.wants(spec) ? opts.eager : undefined;
      const queued = promoted ? await promote(deps.db, run.runId, w.name, deps.now(), spec.timeoutMs, q, e) : undefined;
      if (queued) await dispatchQueued(deps, queued, 'blocked', opts);
      else if (!promoted) await queueAndDispatch(deps, run, w.name, spec, q, opts, e);
      continue;
    }
    if (decision.kind !== 'skip') continue;
    const why = error ?? { reason: 'upstream', message: decision.message };
    const skipped = await skip(deps.db, run.runId, w.name, deps.now(), why, decision.upstreamFailed, seenOf(run));
    if (!skipped) continue;
    deps.log.info({ run: run.runId, task: w.name, from: 'blocked', to: 'skipped', reason: why.reason }, 'task transition');
    const outcome: Outcome = decision.upstreamFailed ? 'failed' : 'skipped';
    // A counted join is told by the skipped task's own stream record (see counted-join.ts).
    const next = (wf.graph.successors[w.name] ?? []).filter((s) => !isCounted(wf.definition.tasks[s]));
    work.push(...next.map((s) => ({ name: s, from: w.name, outcome, status: 'skipped' })));
    if (wf.graph.sinks.includes(w.name)) await sinkDone(deps, run, wf, w.name, opts);
  }
}

/**
 * The join decision for one step, with the error a skip records; `undefined` while dependencies are
 * outstanding or once the task left `blocked`. Under the default rule a run that is ending skips the
 * task (failureStrategy end), and the first reason recorded is kept, as before join rules existed.
 */
async function readiness(
  deps: Deps,
  run: RunItem,
  spec: TaskSpec,
  w: Step,
  opts: AdvanceOptions,
): Promise<{ decision: JoinDecision; error?: TaskError } | undefined> {
  const rule = spec.trigger ?? DEFAULT_TRIGGER;
  if (w.recovered)
    return {
      decision: decideJoin(
        rule,
        spec.after.map((): Outcome => 'succeeded'),
      ),
    };
  const byDefault = rule === DEFAULT_TRIGGER;
  const upstreamError = (): TaskError | undefined =>
    w.from && w.outcome !== 'succeeded' ? { reason: 'upstream', message: `upstream task ${w.from} ${w.status ?? w.outcome}` } : undefined;
  if (spec.after.length <= 1) {
    const decision = decideJoin(rule, w.outcome ? [w.outcome] : []);
    if (byDefault && decision.kind === 'skip') return { decision, error: upstreamError() };
    if (byDefault && w.ending) return { decision: { kind: 'skip', upstreamFailed: false, message: '' }, error: w.ending };
    return { decision };
  }
  if (!w.from || !w.outcome) return undefined;
  if (isCounted(spec))
    return countedReadiness(deps, run, w.name, spec, byDefault ? w.ending : undefined, opts.by === 'sweeper', opts.counted?.get(w.name));
  const reason = upstreamError() ?? (byDefault ? w.ending : undefined);
  const t = await recordDep(deps.db, run.runId, w.name, w.from, w.outcome, reason, seenOf(run));
  if (t?.status !== 'blocked') return undefined;
  const outcomes = spec.after.map((d): Outcome | undefined =>
    t.okDeps?.has(d) ? 'succeeded' : t.failedDeps?.has(d) ? 'failed' : t.skippedDeps?.has(d) ? 'skipped' : undefined,
  );
  const decision = decideJoin(rule, outcomes);
  if (decision.kind === 'wait' || !byDefault) return { decision };
  if (decision.kind === 'skip') return { decision, error: t.skipReason };
  // Every dependency succeeded, but one was recorded while the run was ending.
  if (t.skipReason) return { decision: { kind: 'skip', upstreamFailed: false, message: '' }, error: t.skipReason };
  return { decision };
}

async function queueAndDispatch(
  deps: Deps,
  run: RunItem,
  name: string,
  spec: TaskSpec,
  q: QueueInfo,
  opts: AdvanceOptions,
  e: EagerStart | undefined,
) {
  const t = await queueNew(deps.db, run.runId, name, deps.now(), spec.timeoutMs, q, e);
  if (t) return dispatchQueued(deps, t, 'new', opts);
  // The item exists: a duplicate event (promote finds it no longer blocked), or a task a recovery reset.
  const again = run.recovery ? await promote(deps.db, run.runId, name, deps.now(), spec.timeoutMs, q, e) : undefined;
  if (again) await dispatchQueued(deps, again, 'blocked', opts);
}

/** Hands a task just made ready to a worker, or, when its write already claimed it (eager), to the caller. */
async function dispatchQueued(deps: Deps, t: TaskItem, from: string, opts?: AdvanceOptions) {
  const held = t.status === 'running';
  // Logged as queued even when the same write claimed it (eager): the worker logs its queued → running,
  // so that the log reads as for a dispatched attempt (one queued transition per dispatch or eager start).
  deps.log.info(
    { run: t.runId, task: t.name, attempt: t.attempt, from, to: 'queued', by: opts?.by, eager: held || undefined },
    'task transition',
  );
  if (held) opts?.eager?.took(t);
  else await dispatchAttempt(deps, t);
}

/**
 * Records a finished sink (a run with one sink needs no record); the last one finishes the run.
 * Re-driving an advance made inline reads the join item first: the set add would succeed again, and
 * bill a write, for nothing.
 */
async function sinkDone(deps: Deps, run: RunItem, wf: LoadedWorkflow, sink: string, opts: AdvanceOptions) {
  // The only sink has nothing to wait for: no join item to write (or read), the run finishes now. The
  // watchdog sees the same (reconcile.ts: a terminal sink of a running run with no join item is re-advanced).
  if (wf.graph.sinks.length === 1) return finalize(deps, run.runId, wf, seenOf(run));
  const seen = opts.reprocess ? await getSinksDone(deps.db, run.runId) : undefined;
  const done = seen?.has(sink) ? seen : await addSinkDone(deps.db, run.runId, sink, deps.now(), seenOf(run));
  if (done && wf.graph.sinks.every((s) => done.has(s))) await finalize(deps, run.runId, wf, seenOf(run));
}

/**
 * Finishes the run once its sinks have ended. `seen`: the `recoveries` of the view the advance decided
 * from. A recovery begun since that view (a late sink ending from before it; with one sink no join item
 * stands in between, see `sinkDone`) re-runs what it chose: the run is not finished from this view, and
 * the finishing write is refused if a recovery begins between the read below and that write.
 */
async function finalize(deps: Deps, runId: string, wf: LoadedWorkflow, seen: number) {
  // Read again: a failure recorded after our first read must decide the outcome.
  const run = await getRun(deps.db, runId);
  if (!run || TERMINAL_RUN.has(run.status) || seenOf(run) > seen) return;
  let done: RunItem | undefined;
  if (run.failure) {
    done = await finishRun(deps.db, runId, 'failed', deps.now(), undefined, undefined, undefined, seenOf(run));
  } else {
    const sinks = await Promise.all(wf.graph.sinks.map((s) => getTask(deps.db, runId, s)));
    const output: Record<string, unknown> = {};
    for (const t of sinks) if (t?.status === 'succeeded') output[t.name] = t.output ?? null;
    done = await finishSucceeded(deps, runId, output, seenOf(run));
  }
  if (done) deps.log.info({ run: runId, from: run.status, to: done.status, failure: done.failure }, 'run transition');
}

/** The map's `keep` over an eager budget: takes a queued item for the caller to claim and run. */
function keepQueued(eager: NonNullable<AdvanceOptions['eager']>) {
  return (t: TaskItem, spec: TaskSpec) => {
    if (!eager.wants(spec)) return false;
    eager.took(t);
    return true;
  };
}
