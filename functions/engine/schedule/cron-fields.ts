/**
 * One numeric cron field (`*`, `n`, `a-b`, with `/step`, comma lists, names) read into a sorted list
 * of values. Pure; written here rather than borrowed so that parsing can never recurse or loop long.
 */

/** A cron expression that cannot be read; the message names the field. */
export class CronSyntaxError extends Error {}

/** Throws the refusal of an expression; parseCron turns it into a 400 message. */
export function fail(message: string): never {
  throw new CronSyntaxError(message);
}

/** How one field is read. */
export interface FieldRange {
  /** Field name used in messages (`minute`, `day-of-week`...). */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Upper-case names and their values (JAN=1, SUN=0...). */
  readonly names?: Readonly<Record<string, number>>;
  /** Quartz reads `a-b` with a > b as wrapping past max to min (`FRI-MON`); cron refuses it. */
  readonly wrap: boolean;
  /** How the allowed values are described in messages, when `min-max` is not enough. */
  readonly rangeText?: string;
  /** Adjusts the end of a range from its start (cron `MON-SUN`: SUN as an end is 7). */
  readonly rangeEnd?: (end: number, start: number, token: string) => number;
}

const ITEM = /^(\*|([A-Za-z]+|\d+)(?:-([A-Za-z]+|\d+))?)(?:\/(\d+))?$/;

function value(token: string, r: FieldRange): number {
  const named = r.names?.[token.toUpperCase()];
  if (named !== undefined) return named;
  if (!/^\d{1,3}$/.test(token)) fail(`${r.name}: cannot parse '${token}' (not a number${r.names ? ' or a name' : ''})`);
  const n = Number(token);
  if (n < r.min || n > r.max) fail(`${r.name}: ${n} is out of range (${r.rangeText ?? `${r.min}-${r.max}`})`);
  return n;
}

/** The values of one list item, ascending order not guaranteed. */
export function itemValues(item: string, r: FieldRange): number[] {
  const m = ITEM.exec(item);
  if (!m) fail(`${r.name}: cannot parse '${item}'`);
  const [, , from, to, stepText] = m;
  let start = r.min;
  let end = r.max;
  if (from !== undefined) {
    // Not `*` (ITEM captures no start for it).
    start = value(from, r);
    // `a/s` runs from a to the field's end; `a` alone is one value.
    end = to !== undefined ? value(to, r) : stepText !== undefined ? r.max : start;
    if (to !== undefined && r.rangeEnd) end = r.rangeEnd(end, start, to);
  }
  const step = stepText === undefined ? 1 : Number(stepText);
  if (!(step >= 1)) fail(`${r.name}: step must be at least 1 in '${item}'`);
  const span = r.max - r.min + 1;
  if (end < start) {
    if (!r.wrap) {
      fail(`${r.name}: range '${item}': from value is larger than to value (wrap-around ranges are read only in Quartz form)`);
    }
    end += span;
  }
  const out: number[] = [];
  for (let v = start; v <= end; v += step) out.push(v > r.max ? v - span : v);
  return out;
}

/** Sorted distinct values of a comma list of items. */
export function fieldValues(field: string, r: FieldRange): number[] {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    if (item === '') fail(`${r.name}: empty list item in '${field}'`);
    for (const v of itemValues(item, r)) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}
