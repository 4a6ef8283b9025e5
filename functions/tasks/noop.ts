import { z } from 'zod';
import type { Executor } from './executor.js';

/** Succeeds at once; its (templated) `output` field becomes the task's output. */
export const noop: Executor<{ output?: unknown }> = {
  type: 'noop',
  schema: z.object({ output: z.unknown().optional() }).strict(),
  async execute({ config }) {
    return { status: 'succeeded', output: config.output ?? null };
  },
};
