/**
 * A task's pool fields as written: `pool: NAME`, `poolSlots: k` (default 1), `priority: p` (default 0;
 * higher wakes first among the pool's waiting tasks). Whether the pool exists is decided at run time
 * (pools are created and resized apart from definitions): an unknown pool fails the task with reason
 * `pool_unknown`.
 */
import { z } from 'zod';
import { NAME_PATTERN } from './schema.js';

/** Most slots a pool may have (and so most a task may ask for). */
export const MAX_POOL_SLOTS = 10_000;
/** `priority` ranges over -MAX_PRIORITY..MAX_PRIORITY. */
export const MAX_PRIORITY = 1000;

/** A pool's name: the same rule as workflow and task names. */
export const poolNameSchema = z
  .string({ error: 'expected a pool name' })
  .regex(NAME_PATTERN, { error: 'must start with a letter and contain only letters, digits, _ and - (at most 64 characters)' });

/** A pool's size, as `PUT /pools/{name}` takes it. */
export const poolSlotsSchema = z
  .int({ error: 'expected an integer' })
  .min(1, { error: 'must be at least 1' })
  .max(MAX_POOL_SLOTS, { error: `must be at most ${MAX_POOL_SLOTS}` });

const prioritySchema = z
  .int({ error: 'expected an integer' })
  .min(-MAX_PRIORITY, { error: `must be at least -${MAX_PRIORITY}` })
  .max(MAX_PRIORITY, { error: `must be at most ${MAX_PRIORITY}` });

/** The normalised pool fields of a task (each absent when not given). */
export interface PoolFields {
  readonly pool?: string;
  readonly poolSlots?: number;
  readonly priority?: number;
}

/** Checks the pool fields of task `raw` at `path`, reporting each problem through `add`. */
export function checkPoolFields(
  raw: Record<string, unknown>,
  path: string,
  zod: <T>(path: string, schema: z.ZodType<T>, value: unknown) => T | undefined,
  add: (path: string, message: string) => void,
): PoolFields {
  const pool = raw.pool === undefined ? undefined : zod(`${path}.pool`, poolNameSchema, raw.pool);
  const poolSlots = raw.poolSlots === undefined ? undefined : zod(`${path}.poolSlots`, poolSlotsSchema, raw.poolSlots);
  const priority = raw.priority === undefined ? undefined : zod(`${path}.priority`, prioritySchema, raw.priority);
  if (raw.poolSlots !== undefined && raw.pool === undefined) add(`${path}.poolSlots`, 'poolSlots needs pool');
  return {
    ...(pool !== undefined && { pool }),
    ...(poolSlots !== undefined && { poolSlots }),
    ...(priority !== undefined && { priority }),
  };
}
