/**
 * The public (as written) shape of a workflow definition: names, limits, and zod schemas for its parts.
 * `validate.ts` applies these field by field so that every problem is reported, then normalises.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** Workflow and task names. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Param names. */
export const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Most tasks one definition may hold. */
export const MAX_TASKS = 2000;
/** Default limit on the serialized normalised definition: it must fit in one DynamoDB item (400 KB). */
export const DEFAULT_MAX_BYTES = 350_000;
/** Retry attempts allowed, first attempt included. */
export const MAX_ATTEMPTS = 100;
/** Retry delay when attempts > 1 and no delay is given. */
export const DEFAULT_RETRY_DELAY_MS = 1000;
/** Retry maxDelay when a retry is given without one. */
export const DEFAULT_MAX_DELAY_MS = 60 * 60 * 1000;

/** Top-level keys a definition may have. */
export const TOP_LEVEL_KEYS = [
  'name',
  'description',
  'params',
  'failureStrategy',
  'concurrency',
  'timeout',
  'sla',
  'notify',
  'tasks',
] as const;
/** Task keys the engine owns; every other key of a task is the type's config. */
export const ENGINE_TASK_KEYS = ['type', 'after', 'retry', 'timeout', 'when', 'trigger', 'pool', 'poolSlots', 'priority'] as const;

/** A duration as written (`10s`, `1m30s`, or a number of seconds), parsed to milliseconds. */
export const durationSchema = z
  .union([z.string(), z.number()], { error: 'expected a duration such as 10s, 5m or 1h30m' })
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration ${JSON.stringify(v)} (expected e.g. 500ms, 10s, 5m, 1h30m; at most 365d)`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** `params.NAME` as written. */
export const paramSpecSchema = z.strictObject({
  type: z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array'], {
    error: 'expected one of string, number, integer, boolean, object, array',
  }),
  required: z.boolean().optional(),
  default: z.unknown().optional(),
  description: z.string().optional(),
});

/** `tasks.NAME.retry` as written; defaults are applied by `validate.ts`. */
export const retrySchema = z.strictObject({
  attempts: z
    .int({ error: 'expected an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_ATTEMPTS, { error: `must be at most ${MAX_ATTEMPTS}` })
    .optional(),
  delay: durationSchema.optional(),
  backoff: z.enum(['fixed', 'exponential'], { error: 'expected fixed or exponential' }).optional(),
  maxDelay: durationSchema.optional(),
});

/** `failureStrategy` as written. */
export const failureStrategySchema = z.enum(['end', 'continue'], { error: 'expected end or continue' });

/** Most active runs a `concurrency` limit may name. */
export const MAX_CONCURRENCY_LIMIT = 1000;

/** `concurrency` as written: `{ policy: allow | skip | queue, limit?: N }`. */
export const concurrencySchema = z.strictObject({
  policy: z.enum(['allow', 'skip', 'queue'], { error: 'expected allow, skip or queue' }),
  limit: z
    .int({ error: 'expected an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_CONCURRENCY_LIMIT, { error: `must be at most ${MAX_CONCURRENCY_LIMIT}` })
    .optional(),
});
