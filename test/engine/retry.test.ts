import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../functions/engine/definition/types.js';
import { mayRetry, retryDelay } from '../../functions/engine/retry.js';

const policy = (p: Partial<RetryPolicy>): RetryPolicy =>
  ({ attempts: 3, delayMs: 1000, backoff: 'fixed', maxDelayMs: 0, ...p }) as RetryPolicy;

describe('retry policy', () => {
  it('a fixed delay is the same after every failure', () => {
    expect([1, 2, 5].map((f) => retryDelay(policy({}), f))).toEqual([1000, 1000, 1000]);
  });

  it('an exponential delay doubles from the first failure on', () => {
    expect([1, 2, 3, 4].map((f) => retryDelay(policy({ backoff: 'exponential' }), f))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(policy({ backoff: 'exponential' }), 0)).toBe(1000);
  });

  it('maxDelay caps the delay; 0 means no cap', () => {
    expect(retryDelay(policy({ backoff: 'exponential', maxDelayMs: 3000 }), 3)).toBe(3000);
    expect(retryDelay(policy({ backoff: 'exponential', maxDelayMs: 3000 }), 2)).toBe(2000);
    expect(retryDelay(policy({ backoff: 'exponential', maxDelayMs: 0 }), 3)).toBe(4000);
  });

  it('attempts counts every attempt: with 3, a task may retry after its first and second failure only', () => {
    expect([1, 2, 3].map((f) => mayRetry(policy({ attempts: 3 }), f))).toEqual([true, true, false]);
    expect(mayRetry(policy({ attempts: 1 }), 1)).toBe(false);
  });
});
