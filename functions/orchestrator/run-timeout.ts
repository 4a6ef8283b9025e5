import { TERMINAL_RUN } from '../store/items.js';
import { armRunClock, clockKey, markSlaMissed, type RunClockItem, stopRunClock, timeOutRun } from '../store/run-clock.js';
import { getRun } from '../store/runs.js';
import type { Deps } from './deps.js';
import { loadWorkflow } from './workflows.js';

/**
 * Run-level `timeout` and `sla`, on a durable timer: the run's clock item (`store/run-clock.ts`) sits in
 * the due index at its next deadline and is fired by the sweeper or a fine-grained timer, like a wait.
 * Both count from the run's start. Past the `sla`, the clock is marked `sla_missed` (once; the event
 * comes from that write's stream record) and the run keeps going; past the `timeout`, the run fails with
 * reason `timeout` and the stream stops its work as for a cancel (`cancel.ts`).
 */

/** The run started: arm its clock if its definition has a timeout or an sla. Safe to repeat. */
export async function armClock(deps: Deps, run: { runId: string; workflow: string; version: number; startedAt?: number }) {
  const def = (await loadWorkflow(deps.db, run.workflow, run.version)).definition;
  if (def.timeoutMs === undefined && def.slaMs === undefined) return;
  const from = run.startedAt ?? deps.now();
  const at = {
    ...(def.timeoutMs !== undefined && { timeoutAt: from + def.timeoutMs }),
    ...(def.slaMs !== undefined && { slaAt: from + def.slaMs }),
  };
  if (await armRunClock(deps.db, run, at, deps.now())) {
    await deps.timer(clockKey(run.runId), Math.min(at.timeoutAt ?? Number.POSITIVE_INFINITY, at.slaAt ?? Number.POSITIVE_INFINITY));
  }
}

/** A run's clock fell due: mark the SLA missed, time the run out, or retire the clock of an ended run. */
export async function onRunClock(deps: Deps, clock: RunClockItem): Promise<void> {
  const now = deps.now();
  if (clock.status === 'done') return;
  const run = await getRun(deps.db, clock.runId);
  if (!run || TERMINAL_RUN.has(run.status)) {
    await stopRunClock(deps.db, clock);
    return;
  }
  let current = clock;
  // The SLA first: a run that reaches its timeout has missed its SLA too, even if one late firing finds both due.
  if (clock.status === 'armed' && clock.slaAt !== undefined && clock.slaAt <= now) {
    const marked = await markSlaMissed(deps.db, clock, now);
    if (!marked) return; // another firing moved the clock on; it carries on from there
    current = marked;
    deps.log.warn({ run: run.runId, workflow: run.workflow, slaAt: clock.slaAt }, 'run missed its sla');
  }
  if (current.timeoutAt !== undefined && current.timeoutAt <= now) {
    const limit = current.timeoutAt - (run.startedAt ?? run.createdAt);
    const failed = await timeOutRun(deps.db, run.runId, now, `the run exceeded its timeout of ${limit} ms`);
    if (failed) deps.log.info({ run: run.runId, from: run.status, to: 'failed', reason: 'timeout' }, 'run transition');
    await stopRunClock(deps.db, current);
  } else if (current !== clock && current.timeoutAt !== undefined) {
    await deps.timer(clockKey(run.runId), current.timeoutAt);
  }
}
