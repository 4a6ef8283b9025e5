/**
 * `type: map`: one task spec run once per item of an array, at most `concurrency` items at a time.
 * As written: `items` (a literal array, or a string that is one template yielding an array at run time),
 * `concurrency` (default 10), `task` (a task spec whose fields may use `${item...}` and `${index}`), and
 * `failure: { tolerated }` (how many item failures still succeed the map, default 0). Stored normalised
 * as a `MapConfig` in the task's `config`.
 */
import { z } from 'zod';
import { isPlainObject, typeName } from './params.js';
import type { RetryPolicy, TaskSpec } from './types.js';

/** The task type name of a map. */
export const MAP_TYPE = 'map';
/** Items run at once when `concurrency` is not given. */
export const DEFAULT_MAP_CONCURRENCY = 10;
/** Most items one map may run at once: each is a slot attribute on the map's control item. */
export const MAX_MAP_CONCURRENCY = 100;
/** Most items one map may have (a literal array, or what its template yields at run time). */
export const MAX_MAP_ITEMS = 10_000;

/** The normalised `config` of a map task. */
export interface MapConfig {
  /** A literal array, or a template string rendered when the map starts. */
  readonly items: readonly unknown[] | string;
  readonly concurrency: number;
  /** Item failures that still succeed the map. */
  readonly tolerated: number;
  /** The spec every item runs (no `after`, `when` or `trigger`: an item has no dependencies of its own). */
  readonly task: TaskSpec;
}

/** The map config of a task, or undefined for a task of another type. */
export function mapConfigOf(spec: TaskSpec | undefined): MapConfig | undefined {
  return spec?.type === MAP_TYPE ? (spec.config as unknown as MapConfig) : undefined;
}

/** Why a rendered `items` value cannot be mapped over, or undefined when it can. */
export function itemsProblem(items: unknown): string | undefined {
  if (!Array.isArray(items)) return `items must be an array, got ${typeName(items)}`;
  if (items.length > MAX_MAP_ITEMS) return `items has ${items.length} entries; a map takes at most ${MAX_MAP_ITEMS}`;
  return undefined;
}

const TEMPLATE = /\$\{[^}]+\}/;
const mapKeys = z.strictObject({
  items: z.union([z.array(z.unknown()), z.string().regex(TEMPLATE, 'a template such as ${tasks.list.output.files}')], {
    error: 'expected an array or a template such as ${tasks.list.output.files}',
  }),
  concurrency: z
    .int({ error: 'expected an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_MAP_CONCURRENCY, { error: `must be at most ${MAX_MAP_CONCURRENCY}` })
    .optional(),
  task: z.record(z.string(), z.unknown(), { error: 'expected a task spec such as { type: http, url: ... }' }),
  failure: z.strictObject({ tolerated: z.int({ error: 'expected an integer' }).min(0, { error: 'must be at least 0' }) }).optional(),
});

/** Engine keys an item's task may not have: it runs when the map runs it. */
const NOT_IN_ITEM_TASK = ['after', 'when', 'trigger'] as const;

/** What checking a map needs from the definition validator (its error list and per-field checks). */
export interface MapChecker {
  add(path: string, message: string): void;
  zod<T>(path: string, schema: z.ZodType<T>, value: unknown): T | undefined;
  retry(path: string, raw: unknown): RetryPolicy;
  timeout(path: string, raw: unknown): number | undefined;
  readonly executors: Readonly<Record<string, { readonly schema: z.ZodType }>>;
}

/** Checks a map's fields (`config`: every key of the task but the engine's) and normalises them. */
export function checkMapConfig(c: MapChecker, path: string, config: Record<string, unknown>): MapConfig | undefined {
  const m = c.zod(path, mapKeys, config);
  if (m && Array.isArray(m.items) && m.items.length > MAX_MAP_ITEMS) c.add(`${path}.items`, `at most ${MAX_MAP_ITEMS} items`);
  // The item task is checked even when the map's own fields are wrong, so that every error is reported at once.
  if (!isPlainObject(config.task)) return undefined;
  const tp = `${path}.task`;
  const raw = config.task;
  for (const k of NOT_IN_ITEM_TASK) if (raw[k] !== undefined) c.add(`${tp}.${k}`, `not allowed in a map's task (set it on the map)`);
  let type = '';
  if (typeof raw.type !== 'string')
    c.add(`${tp}.type`, raw.type === undefined ? 'required' : `expected a string, got ${typeName(raw.type)}`);
  else if (raw.type === MAP_TYPE) c.add(`${tp}.type`, 'a map cannot run a map (nest a subworkflow instead)');
  else if (!Object.hasOwn(c.executors, raw.type)) c.add(`${tp}.type`, `unknown task type "${raw.type}"`);
  else type = raw.type;
  const inner = Object.fromEntries(Object.entries(raw).filter(([k]) => !['type', 'retry', 'timeout', ...NOT_IN_ITEM_TASK].includes(k)));
  if (type) {
    try {
      c.zod(tp, (c.executors[type] as { schema: z.ZodType }).schema, inner);
    } catch (e) {
      c.add(tp, `could not check the ${type} fields: ${(e as Error).message}`);
    }
  }
  const timeoutMs = c.timeout(`${tp}.timeout`, raw.timeout);
  const task: TaskSpec = {
    type,
    after: [],
    retry: c.retry(`${tp}.retry`, raw.retry),
    ...(timeoutMs !== undefined && { timeoutMs }),
    config: isPlainObject(inner) ? inner : {},
  };
  if (!m) return undefined;
  return { items: m.items, concurrency: m.concurrency ?? DEFAULT_MAP_CONCURRENCY, tolerated: m.failure?.tolerated ?? 0, task };
}
