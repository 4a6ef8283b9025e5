import type { Condition } from '../store/expr.js';
import type { TaskError, TaskItem } from '../store/items.js';
import { type Ending, finishAttempt, holds } from '../store/tasks.js';
import { UnstorableError } from '../store/unstorable.js';
import type { Deps } from './deps.js';

/** What an ending carries that the table may refuse: the output, the executor's state, or the error. */
const PART: Record<Ending['kind'], 'output' | 'state' | 'error'> = {
  succeeded: 'output',
  suspend: 'state',
  failed: 'error',
  retry: 'error',
};

/**
 * Records how an attempt ended. When the table refuses the ending for its data's sake (an output
 * nested too deep, too large, with a key DynamoDB cannot hold), retrying could never succeed: the
 * attempt fails instead, in a second small write under the same fence, with a reason naming the
 * cause (`output_unstorable`, `output_too_large`, `state_…`, `error_…`). Returns the item as written
 * (undefined when the fence no longer holds) and the ending that was recorded.
 */
export async function recordEnding(
  deps: Deps,
  t: TaskItem,
  ending: Ending,
  now: number,
  guard: Condition,
): Promise<{ done: TaskItem | undefined; ending: Ending }> {
  try {
    return { done: await finishAttempt(deps.db, t, ending, now, guard), ending };
  } catch (err) {
    if (!(err instanceof UnstorableError)) throw err;
    const part = PART[ending.kind];
    const reason: TaskError['reason'] = `${part}_${err.kind}`;
    const failed: Ending = { kind: 'failed', error: { reason, message: `the task's ${part} cannot be stored: ${err.detail}` } };
    deps.log.error(
      { err, run: t.runId, task: t.name, attempt: t.attempt, cause: reason },
      'attempt outcome cannot be stored; failing the task',
    );
    return { done: await finishAttempt(deps.db, t, failed, now, holds(t)), ending: failed };
  }
}
