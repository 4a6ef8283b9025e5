/**
 * Every limit on data that enters Baton, in one place (the README's "Limits" table lists them).
 *
 * The numbers are chosen so that what the engine later derives from accepted data still fits one
 * DynamoDB item (400 KB, 32 levels of nesting): a run's params are copied into its run item and into a
 * child's params; a task's output is embedded one level down in the run's collected output
 * (`output.TASK`); a template such as `{"v": "${params.o}"}` puts a param value inside a task field.
 *
 * Depth counts containers: `1` and `"x"` have depth 0, `{}` and `[]` depth 1, `{"a": [1]}` depth 2.
 */

import { joinPath, type PathSegment } from './definition/path.js';
import type { ValidationIssue } from './definition/types.js';

/** Largest request body, in bytes (413 above it). */
export const MAX_BODY_BYTES = 512 * 1024;

/** Workflow names (the name in the URL is the name; a body `name` must equal it). */
export const WORKFLOW_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** The rule above in words, for error messages. */
export const WORKFLOW_NAME_RULE = 'must start with a letter and contain only letters, digits, _ and - (at most 64 characters)';

/** Ids in paths: run ids, backfill ids (generated ids are ~30 characters). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** Callback tokens are longer (they carry the attempt's coordinates). */
export const MAX_TOKEN_LENGTH = 4096;

/** Deepest definition document accepted (as written); task fields are at depth 4 and below. */
export const MAX_DEFINITION_DEPTH = 16;
/**
 * Most brackets (`[`, `{`) open at once in definition text, counted before the YAML parser sees it:
 * the parser recurses, and 10 000 nested flow brackets exhaust its stack or memory. Generous next to
 * `MAX_DEFINITION_DEPTH`, since the count is approximate (a bracket in a plain scalar counts too).
 */
export const MAX_TEXT_NESTING = 64;

/**
 * The deepest bracket nesting in YAML or JSON text, skipping quoted strings and comments, without
 * parsing it; stops counting once past `limit`.
 */
export function textNesting(text: string, limit = MAX_TEXT_NESTING): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === "'") {
      for (i++; i < text.length && text[i] !== "'"; i++);
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return max;
}

/** Deepest value of one run param (the params object itself adds one level). */
export const MAX_PARAM_DEPTH = 12;
/** Largest serialized run params, in bytes: the run item and a child's copy must stay well under 400 KB. */
export const MAX_PARAMS_BYTES = 128 * 1024;

/**
 * Deepest task output the engine may record. A task field (depth ≤ 13 inside a definition of depth
 * 16) with a param of depth ≤ 12 rendered into it gives at most 25; the run's collected output adds
 * 2 (`output.TASK`), so 27 ≤ 32. Callback bodies and mark-success outputs are checked against it at
 * the edge. An executor's output is not: it is written as it is, and one DynamoDB refuses (deeper than
 * its 32 levels, a key it cannot store) fails its task with `output_unstorable` in a second, fenced
 * write (`orchestrator/unstorable-outcome.ts`); a run output too deep for the run item is referenced
 * from the sinks' task items instead (`orchestrator/run-output.ts`).
 */
export const MAX_OUTPUT_DEPTH = 25;
/** Largest serialized task output by default, in bytes (`BATON_MAX_OUTPUT_BYTES` overrides it). */
export const MAX_OUTPUT_BYTES = 256 * 1024;

/** Longest object key anywhere in accepted data. */
export const MAX_KEY_LENGTH = 1024;
/** Keys refused anywhere: JavaScript treats `__proto__` as the prototype, so it would not survive a copy. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__']);
/** DynamoDB numbers: at most 38 significant digits, magnitude from 1e-130 to below 1e126. */
export const MAX_NUMBER_MAGNITUDE = 9.9e125;
/** Smallest non-zero magnitude DynamoDB stores. */
export const MIN_NUMBER_MAGNITUDE = 1e-130;

/** In `u` mode a surrogate pair is one code point, so only unpaired halves match. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Most issues reported for one value (a hostile value can have millions). */
export const MAX_ISSUES = 20;

/** What `checkValue` enforces. */
export interface ValueLimits {
  /** Deepest nesting allowed. */
  readonly maxDepth: number;
  /** Largest serialized JSON, in bytes; checked only when the shape is sound. */
  readonly maxBytes?: number;
}

/** One limit problem: where (segments below the checked value) and what. */
export interface LimitIssue {
  readonly at: PathSegment[];
  readonly message: string;
}

/**
 * Checks a JSON value against `limits` without recursion (a value nested 10 000 deep is reported, not
 * a stack overflow): depth, key names (`__proto__`, empty, too long), strings and keys that are not
 * well-formed Unicode, numbers DynamoDB cannot store, then size. Stops after `MAX_ISSUES`.
 */
export function findLimitIssues(value: unknown, limits: ValueLimits): LimitIssue[] {
  const issues: LimitIssue[] = [];
  const stack: { v: unknown; at: PathSegment[] }[] = [{ v: value, at: [] }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { v, at } = stack.pop() as { v: unknown; at: PathSegment[] };
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) issues.push({ at, message: 'string is not well-formed Unicode (lone surrogate)' });
      continue;
    }
    if (typeof v === 'number') {
      const m = Math.abs(v);
      if (!Number.isFinite(v) || m > MAX_NUMBER_MAGNITUDE || (m !== 0 && m < MIN_NUMBER_MAGNITUDE))
        issues.push({ at, message: `number ${v} cannot be stored (magnitude 1e-130 to 9.9e125)` });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (at.length >= limits.maxDepth) {
      issues.push({ at, message: `nested too deep: at most ${limits.maxDepth} levels` });
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: [...at, i] });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i] as string;
      const message = keyProblem(k);
      if (message) issues.push({ at: [...at, k], message });
      else stack.push({ v: (v as Record<string, unknown>)[k], at: [...at, k] });
    }
  }
  if (issues.length === 0 && limits.maxBytes !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
    if (bytes > limits.maxBytes) issues.push({ at: [], message: `too large: ${bytes} bytes serialized, at most ${limits.maxBytes}` });
  }
  return issues.slice(0, MAX_ISSUES);
}

/** `findLimitIssues` with each path formatted under `prefix` (e.g. `params.o.a`). */
export function checkValue(value: unknown, prefix: string, limits: ValueLimits): ValidationIssue[] {
  return findLimitIssues(value, limits).map((i) => ({ path: joinPath(prefix, i.at), message: i.message }));
}

function keyProblem(k: string): string | undefined {
  if (k === '') return 'empty key';
  if (FORBIDDEN_KEYS.has(k)) return `key "${k}" is not allowed`;
  if (k.length > MAX_KEY_LENGTH) return `key longer than ${MAX_KEY_LENGTH} characters`;
  if (LONE_SURROGATE.test(k)) return 'key is not well-formed Unicode (lone surrogate)';
  return undefined;
}

/** The limits on one run's params object (each value may be `MAX_PARAM_DEPTH` deep). */
export const PARAMS_LIMITS: ValueLimits = { maxDepth: MAX_PARAM_DEPTH + 1, maxBytes: MAX_PARAMS_BYTES };
/** The limits on one task output (what the engine checks before recording it). */
export const OUTPUT_LIMITS: ValueLimits = { maxDepth: MAX_OUTPUT_DEPTH, maxBytes: MAX_OUTPUT_BYTES };
