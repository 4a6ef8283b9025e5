import { z } from 'zod';

/**
 * The events a definition's `notify` entries may name: a run reaching a status, a task failing (for good,
 * or an attempt that will be retried), and a run missing its `sla`. Each event the engine emits has one
 * of these names (`docs/events.md`).
 */
export const EVENT_NAMES = [
  'running',
  'paused',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
  'task_failed',
  'task_retrying',
  'sla_missed',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Most `notify` entries a definition may have (each event is one delivery per matching entry). */
export const MAX_NOTIFY = 10;

/** One `notify` entry: the events it wants and the webhook they are POSTed to. */
export interface NotifySpec {
  readonly on: readonly EventName[];
  readonly webhook: string;
}

const WEBHOOK_PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:']);

/** `notify` as written: `[{ on: [failed, sla_missed], webhook: https://... }]`. */
export const notifySchema = z
  .array(
    z.strictObject({
      on: z.array(z.enum(EVENT_NAMES, { error: `expected one of ${EVENT_NAMES.join(', ')}` })).min(1, { error: 'name at least one event' }),
      webhook: z
        .string({ error: 'expected a URL' })
        .max(2048, { error: 'at most 2048 characters' })
        .refine((u) => URL.canParse(u) && WEBHOOK_PROTOCOLS.has(new URL(u).protocol), { message: 'expected an http or https URL' }),
    }),
    { error: 'expected a list of { on, webhook }' },
  )
  .max(MAX_NOTIFY, { error: `at most ${MAX_NOTIFY} entries` });
