import type { RetryPolicy } from './definition/types.js';

/** Delay before the retry that follows the `failures`-th failed attempt (1-based). */
export function retryDelay(policy: RetryPolicy, failures: number): number {
  const factor = policy.backoff === 'exponential' ? 2 ** Math.max(0, failures - 1) : 1;
  const delay = policy.delayMs * factor;
  return policy.maxDelayMs > 0 ? Math.min(delay, policy.maxDelayMs) : delay;
}

/** Whether a task that has now failed `failures` times may try again. */
export const mayRetry = (policy: RetryPolicy, failures: number) => failures < policy.attempts;
