import type { TaskSpec } from '../engine/definition/types.js';
import { type RunItem, type TaskError, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { finishRun, getRun, markStarted, recordFailure } from '../store/runs.js';
import { addDoneDep, addSinkDone, addSkippedDep, getTask, promote, queueNew, requestWake, skip, wake } from '../store/tasks.js';
import { admit } from './concurrency.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';
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
  await Promise.all(wf.graph.roots.map((t) => queueAndDispatch(deps, run, t, wf.definition.tasks[t])));
  const started = await markStarted(deps.db, runId, deps.now());
  if (started) deps.log.info({ run: runId, workflow: run.workflow, from: 'queued', to: 'running' }, 'run transition');
}

/** A task reached a terminal state: move its direct successors (and the run's join) forward. */
export async function advance(deps: Deps, task: TaskItem): Promise<void> {
  if (!TERMINAL_TASK.has(task.status)) return;
  const run = await getRun(deps.db, task.runId);
  if (!run || TERMINAL_RUN.has(run.status)) return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  let failure = run.failure;
  if (task.status === 'failed') {
    const f = { task: task.name, reason: task.error?.reason ?? 'failed', message: task.error?.message ?? '' };
    await recordFailure(deps.db, run.runId, f);
    failure ??= f;
  }
  const ending = wf.definition.failureStrategy === 'end' && failure !== undefined;
  const succeeded = task.status === 'succeeded';
  await Promise.all(
    (wf.graph.successors[task.name] ?? []).map((s) =>
      succeeded && !ending ? satisfy(deps, run, wf, s, task.name) : skipDownstream(deps, run, wf, s, task.name, skipReason(task, failure)),
    ),
  );
  if (wf.graph.sinks.includes(task.name)) await sinkDone(deps, run, wf, task.name);
}

function skipReason(task: TaskItem, failure: RunItem['failure']): TaskError {
  if (task.status !== 'succeeded') return { reason: 'upstream', message: `upstream task ${task.name} ${task.status}` };
  return {
    reason: 'run_failed',
    message: `not started: the run is ending after ${failure?.task ?? 'a task'} failed (failureStrategy end)`,
  };
}

/** Marks one dependency of `name` done; queues it when that was the last one. */
async function satisfy(deps: Deps, run: RunItem, wf: LoadedWorkflow, name: string, dep: string) {
  const spec = wf.definition.tasks[name];
  if (!spec) return;
  if (spec.after.length === 1) return queueAndDispatch(deps, run, name, spec);
  const t = await addDoneDep(deps.db, run.runId, name, dep);
  if (t?.status !== 'blocked' || !spec.after.every((d) => t.doneDeps?.has(d))) return;
  // Another dependency ended without succeeding (or the run is ending): every one has ended now, so skip it.
  if (t.skipReason) return skipDownstream(deps, run, wf, name, dep, t.skipReason, true);
  const queued = await promote(deps.db, run.runId, name, deps.now(), spec.timeoutMs);
  if (queued) await dispatchQueued(deps, queued, 'blocked');
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

/**
 * Skips `first` (whose dependency `from` ended without letting it run) and everything downstream of it
 * that can no longer run, inline, so that a failure early in a long chain does not take one event
 * round trip per skipped task. A task with several dependencies is skipped only once every one of
 * them has ended (`ready`: the caller saw that already): until then a branch above it may still be
 * running, and skipping it early could finish the run (through its sinks) while that branch runs.
 */
async function skipDownstream(deps: Deps, run: RunItem, wf: LoadedWorkflow, first: string, from: string, error: TaskError, ready = false) {
  const work = [{ name: first, from, error, ready }];
  while (work.length > 0) {
    const w = work.pop() as (typeof work)[number];
    const after = wf.definition.tasks[w.name]?.after ?? [];
    let why = w.error;
    if (!w.ready && after.length > 1) {
      const t = await addSkippedDep(deps.db, run.runId, w.name, w.from, w.error);
      if (t?.status !== 'blocked' || !after.every((d) => t.doneDeps?.has(d))) continue;
      why = t.skipReason ?? why;
    }
    const skipped = await skip(deps.db, run.runId, w.name, deps.now(), why);
    if (!skipped) continue;
    deps.log.info({ run: run.runId, task: w.name, from: 'blocked', to: 'skipped', reason: why.reason }, 'task transition');
    const next: TaskError = { reason: 'upstream', message: `upstream task ${w.name} skipped` };
    work.push(...(wf.graph.successors[w.name] ?? []).map((s) => ({ name: s, from: w.name, error: next, ready: false })));
    if (wf.graph.sinks.includes(w.name)) await sinkDone(deps, run, wf, w.name);
  }
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
