/**
 * `type: dependent` as written: which run of another workflow this task waits for.
 *
 * - `workflow`: the workflow whose runs count.
 * - `params`: values a run's params must equal, key by key (templates such as `${params.day}` are
 *   rendered when the attempt runs, like every task field); other params of the run do not matter.
 * - `window: { from, to }`: offsets from this run's logical time (see `dependency-match.ts`) within
 *   which the other run's logical time must fall, both ends included. An offset is `0`, or a duration
 *   with a sign: `-1d`, `+2h`, `-1h30m`, `30m` (no sign means later); `to` defaults to `0`.
 * - `status`: the status the run must have ended with: `succeeded` (default), `failed`, `cancelled`,
 *   `skipped`, or a list of them.
 *
 * At least one of `params` and `window` is required: together they say which run counts.
 */
import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration } from './duration.js';
import { NAME_PATTERN } from './schema.js';

/** The task type name. */
export const DEPENDENT_TYPE = 'dependent';

/** The run statuses a dependent task may wait for: the terminal ones. */
export const DEPENDENT_STATUSES = ['succeeded', 'failed', 'cancelled', 'skipped'] as const;
export type DependentStatus = (typeof DEPENDENT_STATUSES)[number];

const OFFSET = /^([+-])?\s*(.+)$/;

/**
 * Parses a window offset to signed milliseconds: `0`, `-1d`, `+2h`, `-1h30m`, `30m`, or a number of
 * seconds (`-3600`). Undefined for anything else, or for more than 365 days either way.
 */
export function parseOffset(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) * 1000 <= MAX_DURATION_MS ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = OFFSET.exec(v.trim());
  if (!m) return undefined;
  const ms = parseDuration(m[2] as string);
  if (ms === undefined) return undefined;
  return m[1] === '-' ? -ms : ms;
}

const offset = z.union([z.string(), z.number()], { error: 'expected an offset such as -1d, +2h or 0' }).transform((v, ctx) => {
  const ms = parseOffset(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid offset ${JSON.stringify(v)} (expected 0 or a signed duration such as -1d, +2h, -1h30m; at most 365d)`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A window as written, normalised to offsets in milliseconds. */
const windowSchema = z
  .strictObject({ from: offset, to: offset.optional() }, { error: 'expected { from: -1d, to: 0 }' })
  .transform((w) => ({ fromMs: w.from, toMs: w.to ?? 0 }))
  .superRefine((w, ctx) => {
    if (w.toMs < w.fromMs) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
  });

const statusSchema = z.enum(DEPENDENT_STATUSES, { error: `expected one of ${DEPENDENT_STATUSES.join(', ')}` });

/**
 * The fields of a dependent task. Applied at `PUT` (to the fields as written) and to the rendered
 * fields before each attempt, whose parsed form is `DependentConfig`.
 */
export const dependentSchema = z
  .strictObject({
    workflow: z
      .string({ error: (i) => (i.input === undefined ? 'required' : 'expected a workflow name') })
      .regex(NAME_PATTERN, { error: 'expected a workflow name' }),
    params: z.record(z.string(), z.unknown(), { error: 'expected an object of param values, such as { day: "${params.day}" }' }).optional(),
    window: windowSchema.optional(),
    status: z.union([statusSchema, z.array(statusSchema).min(1, { error: 'name at least one status' })]).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.params === undefined && c.window === undefined) {
      ctx.addIssue({ code: 'custom', message: `give params, window or both: which run of ${c.workflow} counts` });
    }
  })
  .transform((c) => ({
    workflow: c.workflow,
    ...(c.params !== undefined && { params: c.params }),
    ...(c.window !== undefined && { window: c.window }),
    statuses: c.status === undefined ? (['succeeded'] as DependentStatus[]) : [...new Set([c.status].flat())],
  }));

/** The parsed fields of a dependent task (window offsets in milliseconds). */
export type DependentConfig = z.output<typeof dependentSchema>;
