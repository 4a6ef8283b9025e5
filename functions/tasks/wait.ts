import { z } from 'zod';
import { parseDuration } from '../engine/definition/duration.js';
import { type Executor, templated } from './executor.js';

const duration = z.union([z.string(), z.number()]).refine((d) => parseDuration(d) !== undefined, {
  message: 'a duration such as 30s, 5m or 1h30m',
});

/**
 * Waits for `duration`, durably: the attempt suspends with a wake-up time and no process sleeps.
 * When it resumes after the time, it succeeds.
 */
export const wait: Executor<{ duration: string | number }> = {
  type: 'wait',
  schema: z.object({ duration: templated(duration) }).strict(),
  async execute({ config, state, startedAt, now }) {
    const saved = state as { until?: number } | undefined;
    const until = saved?.until ?? startedAt + (parseDuration(config.duration) ?? 0);
    if (now() >= until) return { status: 'succeeded', output: { waitedUntil: new Date(until).toISOString() } };
    return { status: 'suspended', until, state: { until } };
  },
};
