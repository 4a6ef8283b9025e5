/**
 * `${schedule.*}` templates in the params a schedule (or a backfill) gives its runs (pure).
 *
 * - `${schedule.time}` ISO-8601 UTC, `${schedule.date}` yyyy-MM-dd in the zone, `${schedule.local}`
 *   local ISO time with offset, `${schedule.epoch}` Unix seconds, `${schedule.epochMs}`,
 *   `${schedule.timezone}`, `${schedule.id}` the schedule (or backfill) id.
 * - `${schedule.time:FORMAT}`: the fire time formatted in the zone, FORMAT being a preset (`iso`,
 *   `date`, `local`, `epoch`, `epochMs`) or a pattern of `yyyy MM dd HH mm ss` (e.g. `yyyyMMdd`).
 * - A string that is exactly one `${schedule.epoch}` / `${schedule.epochMs}` becomes a number.
 * - `$${` is a literal `${`. Other `${...}` text is left as it is.
 */
import { formatFireTime, scheduleScope } from './format.js';

const KEYS = ['time', 'date', 'local', 'epoch', 'epochMs', 'timezone', 'id'] as const;
type Key = (typeof KEYS)[number];
const TEMPLATE = /\$\$\{|\$\{schedule\.([A-Za-z]*)(?::([^}]*))?\}/g;

export interface ScheduleTemplateIssue {
  readonly path: string;
  readonly message: string;
}

interface Ctx {
  readonly time: Date;
  readonly timezone: string;
  readonly id: string;
}

function value(ctx: Ctx, key: Key, format: string | undefined): string | number {
  if (format !== undefined) return formatFireTime(ctx.time, ctx.timezone, format);
  if (key === 'id') return ctx.id;
  return scheduleScope(ctx.time, ctx.timezone)[key];
}

function renderString(s: string, ctx: Ctx): unknown {
  const whole = /^\$\{schedule\.(epoch|epochMs)\}$/.exec(s);
  if (whole) return value(ctx, whole[1] as Key, undefined);
  return s.replace(TEMPLATE, (m, key: string | undefined, format: string | undefined) => {
    if (m === '$${') return '${';
    return String(value(ctx, key as Key, format));
  });
}

function walk(v: unknown, f: (s: string, path: string) => unknown, path: string): unknown {
  if (typeof v === 'string') return f(v, path);
  if (Array.isArray(v)) return v.map((x, i) => walk(x, f, `${path}[${i}]`));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, f, path ? `${path}.${k}` : k)]));
  }
  return v;
}

/** Every malformed `${schedule.*}` template in `params`, with its path (`params.day`). */
export function checkScheduleParams(params: unknown, prefix = 'params'): ScheduleTemplateIssue[] {
  const issues: ScheduleTemplateIssue[] = [];
  walk(
    params,
    (s, path) => {
      for (const m of s.matchAll(TEMPLATE)) {
        const key = m[1];
        if (key === undefined) continue; // the literal `$${` (the other alternative always captures a name, maybe empty)
        if (!(KEYS as readonly string[]).includes(key)) {
          issues.push({ path, message: `${m[0]}: unknown schedule value "${key}" (known: ${KEYS.join(', ')})` });
        } else if (m[2] !== undefined && m[2].trim() === '') {
          issues.push({ path, message: `${m[0]}: empty format` });
        }
      }
      return s;
    },
    prefix,
  );
  return issues;
}

/** The params with every `${schedule.*}` template rendered for one fire time. */
export function renderScheduleParams(params: Record<string, unknown>, time: Date, timezone: string, id: string): Record<string, unknown> {
  const ctx: Ctx = { time, timezone, id };
  return walk(params, (s) => renderString(s, ctx), '') as Record<string, unknown>;
}
