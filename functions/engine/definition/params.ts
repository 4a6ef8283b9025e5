/** Run parameters: type checks and resolving the values given to a run against the definition's params. */
import type { ParamSpec, ParamType, Result, ValidationIssue } from './types.js';

/** The JSON type name of a value, as error messages show it: `string`, `integer` (safe integers), `number`, `null`, `NaN`, ... */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    return Number.isSafeInteger(value) ? 'integer' : 'number';
  }
  return typeof value;
}

/** True if `value` is a plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** True if `value` has the param type `type` (integers are numbers too; NaN and infinities are not). */
export function matchesType(type: ParamType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
  }
}

/**
 * Resolves the params given to a run: checks each against its spec, applies defaults (copied), and
 * reports every problem at once: `params.day: required`, `params.limit: expected integer, got string`,
 * `params.x: unknown param`, or `params: expected an object` when `given` is not an object. `undefined`
 * and `null` mean no params. Optional params without a default and without a value are left out.
 */
export function resolveParams(spec: Readonly<Record<string, ParamSpec>>, given: unknown): Result<Record<string, unknown>> {
  const input = given === undefined || given === null ? {} : given;
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ path: 'params', message: `expected an object, got ${typeName(input)}` }] };
  }
  const errors: ValidationIssue[] = [];
  const value: [string, unknown][] = [];
  for (const [name, p] of Object.entries(spec)) {
    const v = Object.hasOwn(input, name) ? input[name] : undefined;
    if (v === undefined) {
      if (p.default !== undefined) value.push([name, structuredClone(p.default)]);
      else if (p.required) errors.push({ path: `params.${name}`, message: 'required' });
    } else if (!matchesType(p.type, v)) {
      errors.push({ path: `params.${name}`, message: `expected ${p.type}, got ${typeName(v)}` });
    } else {
      value.push([name, v]);
    }
  }
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(spec, name)) errors.push({ path: `params.${name}`, message: 'unknown param' });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: Object.fromEntries(value) };
}
