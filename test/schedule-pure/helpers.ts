import { type CronSpec, parseCron } from '../../functions/engine/schedule/index.js';

export function spec(expr: string, timezone = 'UTC'): CronSpec {
  const r = parseCron(expr, timezone);
  if (!r.ok) throw new Error(`${r.field}: ${r.message}`);
  return r.cron;
}

export const iso = (ds: readonly Date[]) => ds.map((d) => d.toISOString());
export const at = (s: string) => new Date(s);
