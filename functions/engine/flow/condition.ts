/**
 * Task conditions (`when`): JSONata expressions over `{ params, tasks, run }`, bounded in time and in
 * the size of every intermediate value, so that a definition cannot hold a master for long or make it
 * build a huge value. Pure apart from the clock used for the time bound; no AWS.
 */
import jsonata from 'jsonata';

/** Longest `when` expression accepted, in characters. */
export const MAX_EXPRESSION_CHARS = 4096;

/** Bounds on one evaluation. */
export interface ConditionLimits {
  /** Wall time one evaluation may take, in milliseconds. */
  readonly timeoutMs: number;
  /** Most elements any intermediate array (or characters any intermediate string) may have. */
  readonly maxSize: number;
  /** Deepest nesting of evaluation steps (recursion included). */
  readonly maxDepth: number;
}

export const DEFAULT_CONDITION_LIMITS: ConditionLimits = { timeoutMs: 1000, maxSize: 100_000, maxDepth: 200 };

/** The value a condition sees. */
export interface ConditionScope {
  readonly params: Readonly<Record<string, unknown>>;
  readonly tasks: Readonly<Record<string, { readonly status: string; readonly output?: unknown }>>;
  readonly run: { readonly id: string; readonly workflow: string };
}

/** Parses an expression; returns the problem, or `undefined` if it is valid. */
export function checkExpression(expr: string): string | undefined {
  if (expr.length > MAX_EXPRESSION_CHARS) return `expression too long: ${expr.length} characters (at most ${MAX_EXPRESSION_CHARS})`;
  try {
    jsonata(expr);
    return undefined;
  } catch (e) {
    return describe(e);
  }
}

/** `true` to run, `false` to skip, or why the expression could not be evaluated. */
export type ConditionResult = { readonly ok: true; readonly value: boolean } | { readonly ok: false; readonly message: string };

/**
 * Evaluates a condition. `true` runs the task; `false`, or no value at all (a path that matched
 * nothing), skips it. Any other value, a runtime error, or a bound exceeded is an error.
 */
export async function evaluateCondition(
  expr: string,
  scope: ConditionScope,
  limits: ConditionLimits = DEFAULT_CONDITION_LIMITS,
  now: () => number = Date.now,
): Promise<ConditionResult> {
  const bad = checkExpression(expr);
  if (bad) return { ok: false, message: bad };
  try {
    const compiled = jsonata(expr);
    const deadline = now() + limits.timeoutMs;
    let depth = 0;
    // JSONata calls these around every step of the evaluation: the time and depth checks and the
    // size check of each intermediate value stop runaway expressions between steps.
    compiled.assign(Symbol.for('jsonata.__evaluate_entry') as unknown as string, () => {
      depth++;
      if (depth > limits.maxDepth) throw new Error(`expression nested deeper than ${limits.maxDepth} steps`);
      if (now() > deadline) throw new Error(`expression took longer than ${limits.timeoutMs} ms`);
    });
    compiled.assign(
      Symbol.for('jsonata.__evaluate_exit') as unknown as string,
      (_e: unknown, _i: unknown, _env: unknown, result: unknown) => {
        depth--;
        const size = Array.isArray(result) || typeof result === 'string' ? result.length : 0;
        if (size > limits.maxSize) throw new Error(`expression built a value of ${size} elements (at most ${limits.maxSize})`);
        if (now() > deadline) throw new Error(`expression took longer than ${limits.timeoutMs} ms`);
      },
    );
    const value: unknown = await compiled.evaluate(scope);
    if (value === undefined || value === false) return { ok: true, value: false };
    if (value === true) return { ok: true, value: true };
    return { ok: false, message: `expression must yield true or false, got ${describeValue(value)}` };
  } catch (e) {
    return { ok: false, message: describe(e) };
  }
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** JSONata errors are objects with a code, a message and a position. */
function describe(e: unknown): string {
  const err = e as { message?: string; code?: string; position?: number };
  const at = typeof err.position === 'number' ? ` at character ${err.position}` : '';
  return `${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}${at}`;
}
