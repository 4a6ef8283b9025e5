import type { TaskSpec } from '../engine/definition/types.js';
import { DEFAULT_TRIGGER, decideJoin, type JoinDecision, type Outcome } from '../engine/flow/join-rule.js';
import { type RunItem, type TaskError, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { finishRun, getRun, markStarted, recordFailure } from '../store/runs.js';
import { addSinkDone, failUnstarted, getTask, promote, queueNew, recordDep, requestWake, skip, wake } from '../store/tasks.js';
import { admit } from './concurrency.js';
import { checkWhen } from './conditions.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';
import { isMapItem, itemEnded } from './map.js';
import { finishSucceeded } from './run-output.js';
import { onRunEnded } from './scheduler.js';
import { type LoadedWorkflow, loadWorkflow } from './workflows.js';

/**
 * The master: advances runs. It holds no lease: every write it makes is an idempotent conditional
 * transition from the state it read, so two masters (or a master and its own retry) racing on the
 * same run make each write at most once, and a zombie's stale write fails its condition.
 */

/** A new run: queue its root tasks, then mark it running. Safe to call again for the same run. */
export async function startRun(deps: Deps, runId: string): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status !== 'queued') return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  if (!(await admit(deps, run, wf))) return; // concurrency policy: the run was made pending or skipped
  await Promise.all(wf.graph.roots.map((t) => settle(deps, run, wf, { name: t })));
  const started = await markStarted(deps.db, runId, deps.now());
  if (started) deps.log.info({ run: runId, workflow: run.workflow, from: 'queued', to: 'running' }, 'run transition');
}

/** A task reached a terminal state: move its direct successors (and the run's join) forward. */
export async function advance(deps: Deps, task: TaskItem): Promise<void> {
  if (!TERMINAL_TASK.has(task.status)) return;
  if (isMapItem(task)) return itemEnded(deps, task); // a map item: its map advances, not the run
  const run = await getRun(deps.db, task.runId);
  if (!run || TERMINAL_RUN.has(run.status)) return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  let failure = run.failure;
  if (task.status === 'failed') {
    const f = { task: task.name, reason: task.error?.reason ?? 'failed', message: task.error?.message ?? '' };
    await recordFailure(deps.db, run.runId, f);
    failure ??= f;
  }
  const ending = wf.definition.failureStrategy === 'end' && failure !== undefined ? runEnding(failure) : undefined;
  const outcome = outcomeOf(task);
  await Promise.all(
    (wf.graph.successors[task.name] ?? []).map((s) =>
      settle(deps, run, wf, { name: s, from: task.name, outcome, status: task.status, ending }),
    ),
  );
  if (wf.graph.sinks.includes(task.name)) await sinkDone(deps, run, wf, task.name);
}

/** How a terminal task ended, as its successors' join rules see it. Derived from the item alone, so every delivery agrees. */
function outcomeOf(t: TaskItem): Outcome {
  if (t.status === 'succeeded') return 'succeeded';
  return t.status === 'failed' || t.upstreamFailed ? 'failed' : 'skipped';
}

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
  return settle(deps, run, wf, { name, recovered: true });
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
async function settle(deps: Deps, run: RunItem, wf: LoadedWorkflow, first: Step) {
  const work: Step[] = [first];
  while (work.length > 0) {
    const w = work.pop() as Step;
    const spec = wf.definition.tasks[w.name];
    if (!spec) continue;
    const ready = await readiness(deps, run, spec, w);
    if (!ready) continue;
    let { decision, error } = ready;
    if (decision.kind === 'run' && spec.when !== undefined) {
      const c = await checkWhen(deps, run, { ...spec, when: spec.when });
      if (!c.ok) {
        const e: TaskError = { reason: 'expression', message: `when: ${c.message}` };
        const failed = await failUnstarted(deps.db, run.runId, w.name, deps.now(), e);
        if (failed) {
          deps.log.warn({ run: run.runId, task: w.name, from: 'blocked', to: 'failed', reason: e.reason, error: e }, 'task transition');
          await advance(deps, failed);
        }
        continue;
      }
      if (!c.value) {
        decision = { kind: 'skip', upstreamFailed: false, message: 'condition false' };
        error = { reason: 'condition', message: `when is false: ${spec.when}` };
      }
    }
    if (decision.kind === 'run') {
      const promoted = spec.after.length > 1 || w.recovered;
      const queued = promoted ? await promote(deps.db, run.runId, w.name, deps.now(), spec.timeoutMs) : undefined;
      if (queued) await dispatchQueued(deps, queued, 'blocked');
      else if (!promoted) await queueAndDispatch(deps, run, w.name, spec);
      continue;
    }
    if (decision.kind !== 'skip') continue;
    const why = error ?? { reason: 'upstream', message: decision.message };
    const skipped = await skip(deps.db, run.runId, w.name, deps.now(), why, decision.upstreamFailed);
    if (!skipped) continue;
    deps.log.info({ run: run.runId, task: w.name, from: 'blocked', to: 'skipped', reason: why.reason }, 'task transition');
    const outcome: Outcome = decision.upstreamFailed ? 'failed' : 'skipped';
    work.push(...(wf.graph.successors[w.name] ?? []).map((s) => ({ name: s, from: w.name, outcome, status: 'skipped' })));
    if (wf.graph.sinks.includes(w.name)) await sinkDone(deps, run, wf, w.name);
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
  const reason = upstreamError() ?? (byDefault ? w.ending : undefined);
  const t = await recordDep(deps.db, run.runId, w.name, w.from, w.outcome, reason);
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

async function queueAndDispatch(deps: Deps, run: RunItem, name: string, spec: TaskSpec | undefined) {
  const t = await queueNew(deps.db, run.runId, name, deps.now(), spec?.timeoutMs);
  if (t) return dispatchQueued(deps, t, 'new');
  // The item exists: a duplicate event (promote finds it no longer blocked), or a task a recovery reset.
  const again = run.recovery ? await promote(deps.db, run.runId, name, deps.now(), spec?.timeoutMs) : undefined;
  if (again) await dispatchQueued(deps, again, 'blocked');
}

async function dispatchQueued(deps: Deps, t: TaskItem, from: string) {
  deps.log.info({ run: t.runId, task: t.name, attempt: t.attempt, from, to: 'queued' }, 'task transition');
  await dispatchAttempt(deps, t);
}

/** Records a finished sink; the last one finishes the run. */
async function sinkDone(deps: Deps, run: RunItem, wf: LoadedWorkflow, sink: string) {
  const done = await addSinkDone(deps.db, run.runId, sink, deps.now());
  if (wf.graph.sinks.every((s) => done.has(s))) await finalize(deps, run.runId, wf);
}

async function finalize(deps: Deps, runId: string, wf: LoadedWorkflow) {
  // Read again: a failure recorded after our first read must decide the outcome.
  const run = await getRun(deps.db, runId);
  if (!run || TERMINAL_RUN.has(run.status)) return;
  let done: RunItem | undefined;
  if (run.failure) {
    done = await finishRun(deps.db, runId, 'failed', deps.now());
  } else {
    const sinks = await Promise.all(wf.graph.sinks.map((s) => getTask(deps.db, runId, s)));
    const output: Record<string, unknown> = {};
    for (const t of sinks) if (t?.status === 'succeeded') output[t.name] = t.output ?? null;
    done = await finishSucceeded(deps, runId, output);
  }
  if (done) deps.log.info({ run: runId, from: run.status, to: done.status, failure: done.failure }, 'run transition');
}

/**
 * A run finished: if it is a sub-workflow's child, wake the parent task that waits for it. If the
 * parent's attempt is still running (between looking at the child and suspending), flag it instead,
 * so that it wakes at once rather than sleep through the event.
 */
export async function onRunFinished(deps: Deps, run: RunItem): Promise<void> {
  await onRunEnded(deps, run); // concurrency slot, backfill progress
  const p = run.parent;
  if (!p || !TERMINAL_RUN.has(run.status)) return;
  let t = await getTask(deps.db, p.runId, p.task);
  if (t?.status === 'running' && t.attempt === p.attempt) {
    if (await requestWake(deps.db, p.runId, p.task, p.attempt)) return;
    t = await getTask(deps.db, p.runId, p.task);
  }
  if (t?.status !== 'waiting' || t.attempt !== p.attempt || t.wake !== 'resume') return;
  const woken = await wake(deps.db, t, deps.now());
  if (woken) await dispatchQueued(deps, woken, 'waiting');
}
