import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeDefinition } from '../../functions/engine/definition/decode.js';
import { type ParseOptions, parseDefinition, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { fromZodIssues } from '../../functions/engine/definition/zod-issues.js';
import { MAX_TEXT_NESTING } from '../../functions/engine/limits.js';
import { executors } from './fixtures.js';

/**
 * What a user sees when a definition is refused: how its text is decoded (JSON, YAML, which errors), and
 * how schema problems are named (the field's path, and what the field accepts).
 */

const opts: ParseOptions = { executors };

function errorsOf(body: unknown): ValidationIssue[] {
  const r = parseDefinition(body, opts);
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

const task = (spec: Record<string, unknown>) => ({ name: 'w', tasks: { a: spec } });

describe('decodeDefinition', () => {
  it('reads JSON, and YAML when the text is not JSON and no content type says JSON', () => {
    expect(decodeDefinition('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(decodeDefinition('a: 1')).toEqual({ ok: true, value: { a: 1 } });
    expect(decodeDefinition('a: [1, 2]', 'text/plain')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(decodeDefinition('{"a": 1}', 'application/yaml')).toEqual({ ok: true, value: { a: 1 } });
    expect(decodeDefinition('a: 1', 'Application/X-YAML; charset=utf-8')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('passes a body that is already a value through as it is', () => {
    const body = { name: 'w' };
    expect(decodeDefinition(body, 'application/json')).toEqual({ ok: true, value: body });
  });

  it('refuses text that is not JSON when the content type says JSON, naming the JSON error', () => {
    const r = decodeDefinition('a: 1', 'Application/JSON; charset=utf-8');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]?.path).toBe('');
      expect(r.errors[0]?.message).toMatch(/^invalid JSON: /);
    }
  });

  it('refuses YAML with duplicate keys, several documents, or a syntax error, saying where', () => {
    for (const [text, what] of [
      ['a: 1\na: 2', /unique/],
      ['a: 1\n---\nb: 2', /multiple documents/],
      ['a: [1', /line 1, column/],
    ] as const) {
      const r = decodeDefinition(text, 'application/yaml');
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(r.errors[0]?.path).toBe('');
        expect(r.errors[0]?.message).toMatch(/^invalid YAML: /);
        expect(r.errors[0]?.message).toMatch(what);
      }
    }
  });

  it(`refuses YAML text with brackets nested more than ${MAX_TEXT_NESTING} deep before parsing it, and accepts ${MAX_TEXT_NESTING}`, () => {
    const deep = (n: number) => `a: ${'['.repeat(n)}${']'.repeat(n)}`;
    expect(decodeDefinition(deep(MAX_TEXT_NESTING), 'application/yaml').ok).toBe(true);
    expect(decodeDefinition(deep(MAX_TEXT_NESTING + 1), 'application/yaml')).toEqual({
      ok: false,
      errors: [{ path: '', message: `invalid YAML: brackets nested more than ${MAX_TEXT_NESTING} deep` }],
    });
    // Not JSON either way: the nesting check applies to the YAML fallback too.
    expect(decodeDefinition(`${deep(10_000)}x`).ok).toBe(false);
  });

  it('expands YAML aliases, but not an alias bomb', () => {
    expect(decodeDefinition('a: &x [1]\nb: *x', 'application/yaml')).toEqual({ ok: true, value: { a: [1], b: [1] } });
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(', ')}]`),
    ].join('\n');
    const r = decodeDefinition(bomb, 'application/yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/^invalid YAML: .*alias/);
  });

  it('with a YAML content type, duplicate keys are refused even in text that is also JSON', () => {
    expect(decodeDefinition('{"a": 1, "a": 2}').ok).toBe(true); // JSON: the last one wins
    const r = decodeDefinition('{"a": 1, "a": 2}', 'application/yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/^invalid YAML: .*unique/);
  });

  it('reports at most five YAML errors', () => {
    const r = decodeDefinition(Array.from({ length: 12 }, (_, i) => `k${i % 2}: [${i}`).join('\n'), 'application/yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toHaveLength(5);
  });
});

describe('schema problems, by path', () => {
  it('names every unknown field, at any level', () => {
    expect(errorsOf({ ...task({ type: 'noop', bogus: 1, other: 2 }), extra: 1 })).toEqual([
      { path: 'extra', message: 'unknown field' },
      { path: 'tasks.a.bogus', message: 'unknown field' },
      { path: 'tasks.a.other', message: 'unknown field' },
    ]);
  });

  it('names a list element by its index', () => {
    expect(errorsOf({ name: 'w', tasks: { a: { type: 'noop' }, b: { type: 'noop', after: ['a', 5] } } })).toEqual([
      { path: 'tasks.b.after[1]', message: 'expected a task name, got integer' },
    ]);
  });

  it('for a field of several shapes given none of them, says what each shape would be', () => {
    expect(errorsOf(task({ type: 'map', items: { x: 1 }, task: { type: 'noop' } }))).toEqual([
      {
        path: 'tasks.a.items',
        message: 'Invalid input: expected array, received object, or Invalid input: expected string, received object',
      },
    ]);
    expect(errorsOf(task({ type: 'noop', timeout: true }))).toEqual([
      {
        path: 'tasks.a.timeout',
        message: 'Invalid input: expected string, received boolean, or Invalid input: expected number, received boolean',
      },
    ]);
  });

  it('for a value of the right type that fits no shape, says what each shape wanted, once each', () => {
    expect(errorsOf(task({ type: 'http', url: 'nope' }))).toEqual([
      { path: 'tasks.a.url', message: 'Invalid URL, or a template such as ${params.x}' },
    ]);
    // Both shapes are strings: one complaint, not the same one twice.
    expect(errorsOf(task({ type: 'http', url: 5 }))).toEqual([
      { path: 'tasks.a.url', message: 'Invalid input: expected string, received number' },
    ]);
  });

  it("for a value meant for one shape, reports that shape's complaint", () => {
    expect(errorsOf(task({ type: 'map', items: 'files', task: { type: 'noop' } }))).toEqual([
      { path: 'tasks.a.items', message: 'a template such as ${tasks.list.output.files}' },
    ]);
  });
});

describe('fromZodIssues: any schema a task type declares', () => {
  const issues = (schema: z.ZodType, value: unknown, prefix = 'tasks.a') => {
    const r = schema.safeParse(value);
    if (r.success) throw new Error('expected issues');
    return fromZodIssues(prefix, r.error.issues);
  };
  const TEMPLATE = z.string().regex(/\$\{/, 'a template');

  it('names list elements by index and nested fields by name, under the prefix', () => {
    const schema = z.strictObject({ list: z.array(z.number()), deep: z.strictObject({ 'a b': z.string() }) });
    expect(issues(schema, { list: [1, 'x'], deep: { 'a b': 1 } })).toEqual([
      { path: 'tasks.a.list[1]', message: 'Invalid input: expected number, received string' },
      { path: 'tasks.a.deep["a b"]', message: 'Invalid input: expected string, received number' },
    ]);
    expect(issues(z.array(z.number()), ['x'], '')).toEqual([{ path: '[0]', message: 'Invalid input: expected number, received string' }]);
  });

  it('leaves out what the shapes of another type wanted when several shapes of the right type fit none', () => {
    const field = z.union([z.number(), z.url(), TEMPLATE]);
    expect(issues(z.strictObject({ url: field }), { url: 'nope' })).toEqual([
      { path: 'tasks.a.url', message: 'Invalid URL, or a template' },
    ]);
  });

  it("reports, for a value one shape was meant for, that shape's own problems at their paths", () => {
    const field = z.union([z.string(), z.strictObject({ n: z.number(), m: z.number() })]);
    expect(issues(z.strictObject({ f: field }), { f: { n: 'x', m: 'y', q: 1 } })).toEqual([
      { path: 'tasks.a.f.n', message: 'Invalid input: expected number, received string' },
      { path: 'tasks.a.f.m', message: 'Invalid input: expected number, received string' },
      { path: 'tasks.a.f.q', message: 'unknown field' },
    ]);
  });
});
