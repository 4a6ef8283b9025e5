import { tasksByPrefix, wakeForExecution } from '../store/callbacks.js';
import type { TaskItem } from '../store/items.js';
import { getTask, requestWake } from '../store/tasks.js';
import { executionName, parseExecutionName, type SfnState } from '../tasks/stepfunctions.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';

/**
 * Step Functions status-change events (EventBridge): an execution a `stepfunctions` attempt waits on
 * ended. Like a Lambda callback (callback.ts), the event only wakes the attempt and dispatches it; the
 * executor, resumed with its state, reads the final status.
 */

/** The `detail` of an EventBridge "Step Functions Execution Status Change" event (the fields used here). */
export interface SfnStatusDetail {
  readonly executionArn: string;
  readonly stateMachineArn?: string;
  readonly name: string;
  readonly status: string;
}

const TERMINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

export type StatusChangeResult = 'woken' | 'wake_requested' | 'ignored_status' | 'ignored_unknown' | 'ignored_not_waiting';

/**
 * An execution ended: wake the attempt that waits on it, so that its worker reads the final status.
 * The execution name leads to the task and attempt; a waiting attempt is woken only if its state names
 * this very execution. If the attempt is running (it started the execution and has not yet recorded
 * its suspension, or it is reading the status right now), it is flagged instead (`requestWake`): it
 * then wakes at once rather than sleep through the event. Anything else (an execution Baton did not
 * start, a duplicate, a late RUNNING event, an attempt that moved on) changes nothing.
 */
export async function onExecutionStatusChange(deps: Deps, detail: SfnStatusDetail): Promise<StatusChangeResult> {
  if (!TERMINAL_EXECUTION.has(detail.status)) return 'ignored_status';
  const parsed = parseExecutionName(detail.name);
  if (!parsed) return 'ignored_unknown';
  const candidates = await tasksNamed(
    deps,
    parsed.runId,
    parsed.task,
    parsed.prefix,
    (n) => executionName(parsed.runId, n, parsed.attempt) === detail.name,
  );
  let result: StatusChangeResult = 'ignored_unknown';
  for (const t of candidates) {
    const r = await wakeWaiter(deps, t, parsed.attempt, detail);
    if (r === 'woken' || r === 'wake_requested') return r;
    if (r === 'ignored_not_waiting') result = r;
  }
  return result;
}

async function wakeWaiter(deps: Deps, first: TaskItem, attempt: number, detail: SfnStatusDetail): Promise<StatusChangeResult> {
  let t: TaskItem | undefined = first;
  // A few rounds at most: each one follows a transition that happened between our read and our write.
  for (let round = 0; t && round < 4; round++) {
    const awaited = (t.state as Partial<SfnState> | undefined)?.executionArn;
    const ours = awaited === detail.executionArn;
    if (t.status === 'waiting' && t.wake === 'resume' && ours) {
      const woken = await wakeForExecution(deps.db, t, detail.executionArn, deps.now());
      if (woken) {
        deps.log.info(
          { run: t.runId, task: t.name, attempt: t.attempt, from: 'waiting', to: 'queued', by: 'sfn-event', execution: detail.status },
          'task transition',
        );
        await dispatchAttempt(deps, woken);
        return 'woken';
      }
    } else if (t.status === 'running' && t.attempt === attempt && (ours || awaited === undefined)) {
      if (await requestWake(deps.db, t.runId, t.name, t.attempt)) return 'wake_requested';
    } else {
      return ours || (t.attempt === attempt && awaited === undefined) ? 'ignored_not_waiting' : 'ignored_unknown';
    }
    t = await getTask(deps.db, t.runId, t.name);
  }
  return 'ignored_not_waiting';
}

async function tasksNamed(deps: Deps, runId: string, task: string, prefix: string | undefined, names: (task: string) => boolean) {
  const exact = await getTask(deps.db, runId, task);
  const found = exact ? [exact] : [];
  if (prefix !== undefined) {
    for (const t of await tasksByPrefix(deps.db, runId, prefix)) if (t.name !== task && names(t.name)) found.push(t);
  }
  return found;
}
