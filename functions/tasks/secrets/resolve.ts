/**
 * The worker's side of secrets: render a task's fields with `${secrets.NAME}` resolved from the
 * source, then scrub every resolved value out of what the attempt produced before it is stored.
 */
import { type RenderScope, render } from '../../engine/definition/template.js';
import type { Outcome } from '../executor.js';
import { SecretMissingError, type SecretSource } from './source.js';

/** `resolve`: secrets become values (the task uses them). `pass`: references stay references (sub-workflow params). */
export type SecretMode = 'resolve' | 'pass';

/** A task's rendered fields and the secret values that went into them (for `redact`). */
export interface RenderedWithSecrets {
  readonly config: unknown;
  readonly values: readonly string[];
}

/**
 * Renders `config` like `render`, resolving each secret it names (directly, or inside a param's value)
 * once, in parallel.
 *
 * @throws TemplateError for a missing param or output; SecretMissingError for a secret the source lacks;
 *   any error of the source itself (throttling, access).
 */
export async function renderWithSecrets(
  config: unknown,
  scope: Omit<RenderScope, 'secret'>,
  source: SecretSource,
  mode: SecretMode = 'resolve',
): Promise<RenderedWithSecrets> {
  if (mode === 'pass') return { config: render(config, { ...scope, secret: (_name, raw) => raw }), values: [] };
  const names = new Set<string>();
  // A dry render finds every secret used, wherever it hides (a param holding a reference included).
  render(config, {
    ...scope,
    secret: (name) => {
      names.add(name);
      return '';
    },
  });
  if (names.size === 0) return { config: render(config, scope), values: [] };
  const values = new Map<string, string>();
  await Promise.all(
    [...names].map(async (name) => {
      const value = await source.get(name);
      if (value === undefined) throw new SecretMissingError(name, source.describe(name));
      values.set(name, value);
    }),
  );
  return { config: render(config, { ...scope, secret: (name) => values.get(name) as string }), values: [...values.values()] };
}

/** Every form in which a value may show up in text: as is, JSON-escaped, URL-encoded. Longest first. */
function forms(values: readonly string[]): string[] {
  const all = new Set<string>();
  for (const v of values) {
    if (v === '') continue;
    all.add(v);
    all.add(JSON.stringify(v).slice(1, -1));
    all.add(encodeURIComponent(v));
  }
  return [...all].sort((a, b) => b.length - a.length);
}

function scrub(value: unknown, needles: readonly string[]): unknown {
  if (typeof value === 'string') return needles.reduce((s, n) => s.replaceAll(n, '***'), value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, needles));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrub(k, needles) as string, scrub(v, needles)]));
  }
  return value;
}

/** `value` with every occurrence of every secret value (in any string, keys included) replaced by `***`. */
export function redact<T>(value: T, secrets: readonly string[]): T {
  const needles = forms(secrets);
  return needles.length === 0 ? value : (scrub(value, needles) as T);
}

/** The outcome with secret values scrubbed from its output, message and saved state. */
export function redactOutcome(outcome: Outcome, secrets: readonly string[]): Outcome {
  if (secrets.length === 0) return outcome;
  switch (outcome.status) {
    case 'succeeded':
      return { ...outcome, output: redact(outcome.output, secrets) };
    case 'failed':
      return { ...outcome, message: redact(outcome.message, secrets) };
    case 'suspended':
      return { ...outcome, state: redact(outcome.state, secrets) };
  }
}
