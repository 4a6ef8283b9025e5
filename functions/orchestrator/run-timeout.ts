import { type RunItem, TERMINAL_RUN } from '../store/items.js';
import {
  armRunClock,
  type ClockDeadlines,
  clockKey,
  markSlaMissed,
  type RunClockItem,
  rearmRunClock,
  stopRunClock,
  timeOutRun,
} from '../store/run-clock.js';
import { getRun } from '../store/runs.js';
import type { Deps } from './deps.js';
import { loadWorkflow } from './workflows.js';

/**
 * Run-level `timeout` and `sla`, on a durable timer: the run's clock item (`store/run-clock.ts`) sits in
 * the due index at its next deadline and is fired by the sweeper or a fine-grained timer, like a wait.
 * Both count from the run's start, and again from each recovery (as Step Functions resets an execution's
 * timeout when it is redriven): a recovery re-arms the clock for its episode. Past the `sla`, the clock is
 * marked `sla_missed` (once per episode; the event comes from that write's stream record) and the run
 * keeps going; past the `timeout`, the run fails with reason `timeout` and the stream stops its work as
 * for a cancel (`cancel.ts`).
 */

type ClockedRun = Pick<RunItem, 'runId' | 'workflow' | 'version'>;

/** The run's deadlines counted from `from`, or undefined when its definition has neither a timeout nor an sla. */
async function deadlines(deps: Deps, run: ClockedRun, from: number): Promise<ClockDeadlines | undefined> {
  const def = (await loadWorkflow(deps.db, run.workflow, run.version)).definition;
  if (def.timeoutMs === undefined && def.slaMs === undefined) return undefined;
  return {
    ...(def.timeoutMs !== undefined && { timeoutAt: from + def.timeoutMs }),
    ...(def.slaMs !== undefined && { slaAt: from + def.slaMs }),
  };
}

const first = (at: ClockDeadlines) => Math.min(at.timeoutAt ?? Number.POSITIVE_INFINITY, at.slaAt ?? Number.POSITIVE_INFINITY);

/** The run started: arm its clock if its definition has a timeout or an sla. Safe to repeat. */
export async function armClock(deps: Deps, run: ClockedRun & { startedAt?: number }) {
  const from = run.startedAt ?? deps.now();
  const at = await deadlines(deps, run, from);
  if (at && (await armRunClock(deps.db, run, at, from, deps.now()))) await deps.timer(clockKey(run.runId), first(at));
}

/**
 * The run was recovered: re-arm its clock for the recovery's episode, counting from the recovery (its
 * time is on the run, so every re-drive computes the same deadlines). Safe to repeat: the write is
 * guarded by the episode, so only the first call re-arms.
 */
export async function rearmClock(deps: Deps, run: RunItem) {
  const rec = run.recovery;
  if (!rec) return;
  const at = await deadlines(deps, run, rec.at);
  if (at && (await rearmRunClock(deps.db, run, rec.n, at, rec.at, deps.now()))) {
    deps.log.info({ run: run.runId, recovery: rec.n, ...at }, 'run clock re-armed for the recovery');
    await deps.timer(clockKey(run.runId), first(at));
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
  // A clock of an earlier episode: the run was recovered since. Its recovery re-arms the clock; doing it
  // here too (the same guarded write) keeps a recovery whose re-arm was lost from leaving a dead clock due.
  if ((run.recoveries ?? 0) !== (clock.episode ?? 0)) return rearmClock(deps, run);
  let current = clock;
  // The SLA first: a run that reaches its timeout has missed its SLA too, even if one late firing finds both due.
  if (clock.status === 'armed' && clock.slaAt !== undefined && clock.slaAt <= now) {
    const marked = await markSlaMissed(deps.db, clock, now);
    if (!marked) return; // another firing moved the clock on; it carries on from there
    current = marked;
    deps.log.warn({ run: run.runId, workflow: run.workflow, slaAt: clock.slaAt }, 'run missed its sla');
  }
  if (current.timeoutAt !== undefined && current.timeoutAt <= now) {
    const limit = current.timeoutAt - (current.countsFrom ?? run.startedAt ?? run.createdAt);
    const failed = await timeOutRun(deps.db, run.runId, current.episode ?? 0, now, `the run exceeded its timeout of ${limit} ms`);
    if (failed) deps.log.info({ run: run.runId, from: run.status, to: 'failed', reason: 'timeout' }, 'run transition');
    await stopRunClock(deps.db, current);
  } else if (current !== clock && current.timeoutAt !== undefined) {
    await deps.timer(clockKey(run.runId), current.timeoutAt);
  }
}
