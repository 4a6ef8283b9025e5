/**
 * Lambda event filtering (the EventBridge pattern subset Baton's filters use): a record passes if any
 * filter matches; a filter matches if every key matches; an array lists accepted values or
 * `exists`, `prefix` and `anything-but` rules. Used to replay the synthesized stream filters on real
 * stream records.
 */

type Json = any;

function matchValue(rule: Json, value: Json): boolean {
  if (rule === null || typeof rule !== 'object') return value === rule;
  if ('exists' in rule) return (value !== undefined) === rule.exists;
  if ('prefix' in rule) return typeof value === 'string' && value.startsWith(rule.prefix);
  if ('anything-but' in rule) return value !== undefined && ![rule['anything-but']].flat().includes(value);
  throw new Error(`unsupported filter rule ${JSON.stringify(rule)}`);
}

function matches(pattern: Json, value: Json): boolean {
  return Object.entries(pattern as Record<string, Json>).every(([k, p]) => {
    const v = value?.[k];
    if (Array.isArray(p)) return p.some((rule) => matchValue(rule, v));
    return v !== null && typeof v === 'object' && matches(p, v);
  });
}

/** Whether `record` passes the filter criteria (each `{ Pattern: string }`, as in the template). */
export function passesFilters(filters: ReadonlyArray<{ Pattern: string }>, record: Json): boolean {
  return filters.some((f) => matches(JSON.parse(f.Pattern), record));
}
