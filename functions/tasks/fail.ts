import { z } from 'zod';
import { type Executor, templated } from './executor.js';

/** Fails with its `message`, for tests and scaffolding. `retryable: false` skips the retry policy. */
export const fail: Executor<{ message?: string; retryable?: boolean | string }> = {
  type: 'fail',
  schema: z.object({ message: z.string().optional(), retryable: templated(z.boolean()).optional() }).strict(),
  async execute({ config }) {
    return {
      status: 'failed',
      reason: 'fail',
      message: config.message ?? 'failed by a fail task',
      retryable: config.retryable !== false,
    };
  },
};
