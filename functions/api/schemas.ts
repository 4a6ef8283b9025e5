/** Zod schemas shared by the routes: names and ids in paths, the Idempotency-Key header, limited JSON. */
import { z } from 'zod';
import { NAME_PATTERN } from '../engine/definition/schema.js';
import {
  findLimitIssues,
  ID_PATTERN,
  MAX_TOKEN_LENGTH,
  PARAMS_LIMITS,
  type ValueLimits,
  WORKFLOW_NAME_PATTERN,
  WORKFLOW_NAME_RULE,
} from '../engine/limits.js';

/** A workflow name in a path. */
export const workflowName = z.string().regex(WORKFLOW_NAME_PATTERN, { error: `invalid workflow name: ${WORKFLOW_NAME_RULE}` });
/** A run or backfill id in a path. */
export const entityId = z.string().regex(ID_PATTERN, { error: 'invalid id: letters, digits, _ . : - (at most 128 characters)' });
/** A schedule id in a path. */
export const scheduleId = z
  .string()
  .regex(NAME_PATTERN, { error: 'must start with a letter and contain only letters, digits, _ and - (at most 64 characters)' });
/** A callback token in a path. */
export const callbackToken = z
  .string()
  .max(MAX_TOKEN_LENGTH, { error: `at most ${MAX_TOKEN_LENGTH} characters` })
  .regex(/^[A-Za-z0-9._-]+$/, { error: 'invalid token' });

export const workflowPath = z.object({ name: workflowName });
export const runPath = z.object({ runId: entityId });
export const schedulePath = z.object({ name: workflowName, id: scheduleId });

/** The Idempotency-Key header: the same key for the same workflow names the same run or backfill. */
export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1, { error: 'must not be empty' }).max(255, { error: 'at most 255 characters' }).optional(),
});

/** A positive integer given as a query string. */
export const positiveIntString = z
  .string()
  .regex(/^\d{1,15}$/, { error: 'expected a positive integer' })
  .transform(Number)
  .refine((n) => n >= 1, { error: 'expected a positive integer' });

/**
 * Any JSON value within `limits` (depth, keys, numbers, size; see engine/limits.ts). Checked on the raw
 * value before any other schema copies it, since copying drops a `__proto__` key silently.
 */
export function limitedJson(limits: ValueLimits) {
  return z.unknown().superRefine((v, ctx) => {
    for (const i of findLimitIssues(v, limits)) ctx.addIssue({ code: 'custom', message: i.message, path: i.at, input: v });
  });
}

/** Run params: an object of param values within `PARAMS_LIMITS`; their types are checked against the definition later. */
export const runParams = limitedJson(PARAMS_LIMITS).pipe(
  z.record(z.string(), z.unknown(), { error: 'expected an object such as {"day": "2026-01-31"}' }),
);
