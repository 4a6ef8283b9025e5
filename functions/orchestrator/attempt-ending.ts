import type { TaskSpec } from '../engine/definition/types.js';
import { mayRetry, retryDelay } from '../engine/retry.js';
import type { TaskError, TaskItem } from '../store/items.js';
import type { Ending } from '../store/tasks.js';
import type { Outcome } from '../tasks/executor.js';
import type { Deps } from './deps.js';

/** Turns an executor's outcome into the task's next state, applying the retry policy. */
export function decide(deps: Deps, spec: TaskSpec, t: TaskItem, outcome: Outcome): Ending {
  const now = deps.now();
  switch (outcome.status) {
    case 'succeeded': {
      const size = Buffer.byteLength(JSON.stringify(outcome.output ?? null));
      if (size > deps.db.config.maxOutputBytes) {
        const error: TaskError = {
          reason: 'output_too_large',
          message: `output is ${size} bytes; the limit is ${deps.db.config.maxOutputBytes}`,
        };
        return { kind: 'failed', error };
      }
      return { kind: 'succeeded', output: outcome.output ?? null };
    }
    case 'failed': {
      const error: TaskError = {
        reason: outcome.reason,
        message: outcome.message,
        ...(outcome.callbackReason !== undefined && { callbackReason: outcome.callbackReason }),
      };
      const failures = (t.failures ?? 0) + 1;
      if (outcome.retryable !== false && mayRetry(spec.retry, failures)) {
        return { kind: 'retry', error, at: now + retryDelay(spec.retry, failures) };
      }
      return { kind: 'failed', error };
    }
    case 'suspended': {
      const at = Math.min(outcome.until ?? now + deps.db.config.recheckMs, t.deadline ?? Number.POSITIVE_INFINITY);
      return { kind: 'suspend', at, state: outcome.state };
    }
  }
}
