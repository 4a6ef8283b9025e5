import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dependentSchema } from '../../functions/engine/definition/dependent.js';
import { type ParseOptions, parseDefinition } from '../../functions/engine/definition/index.js';
import { fromZodIssues } from '../../functions/engine/definition/zod-issues.js';
import { paramsMatch } from '../../functions/engine/flow/dependency-match.js';
import { decideJoin } from '../../functions/engine/flow/join-rule.js';
import { executors } from './fixtures.js';

/**
 * Messages a user reads for the less common shapes: a discriminated union with no matching branch, a
 * union branch meant for the value that fails one field, each join rule's skip reason, a dependent
 * task's workflow field and a webhook's scheme.
 */
function issues(schema: z.ZodType, value: unknown) {
  const r = schema.safeParse(value);
  if (r.success) throw new Error('expected issues');
  return fromZodIssues('tasks.a', r.error.issues);
}

describe('fromZodIssues: unions', () => {
  it('a discriminated union with no branch for the value names the discriminator and its options', () => {
    const schema = z.discriminatedUnion('kind', [z.object({ kind: z.literal('s3') }), z.object({ kind: z.literal('gcs') })]);
    expect(issues(schema, { kind: 'ftp' })).toStrictEqual([
      { path: 'tasks.a.kind', message: "Invalid discriminator value. Expected 's3' | 'gcs'" },
    ]);
  });

  it('an object meant for the object branch that fails one field is reported at that field', () => {
    const schema = z.union([z.strictObject({ url: z.string() }), z.string()]);
    expect(issues(schema, { url: 1 })).toStrictEqual([{ path: 'tasks.a.url', message: 'Invalid input: expected string, received number' }]);
  });
});

describe('join rules: the reason a skipped task shows', () => {
  it.each([
    ['all_succeeded', ['succeeded', 'failed', 'failed'], true, '2 upstream task(s) failed'],
    ['all_succeeded', ['succeeded', 'skipped', 'skipped'], false, '2 upstream task(s) skipped'],
    ['one_succeeded', ['skipped', 'skipped'], false, 'every upstream task was skipped'],
    ['one_succeeded', ['failed'], true, 'no upstream task succeeded'],
    ['one_succeeded', ['failed', 'skipped'], true, 'no upstream task succeeded'],
    ['all_failed', ['succeeded', 'failed', 'skipped'], false, '2 upstream task(s) did not fail'],
    ['one_failed', ['succeeded', 'skipped'], false, 'no upstream task failed'],
    ['none_failed', ['succeeded', 'failed', 'failed', 'failed'], true, '3 upstream task(s) failed'],
  ] as const)('%s over %j: skip, upstreamFailed %s, "%s"', (rule, outcomes, upstreamFailed, why) => {
    expect(decideJoin(rule, outcomes)).toStrictEqual({ kind: 'skip', upstreamFailed, message: `trigger ${rule}: ${why}` });
  });
});

describe('dependent and notify fields', () => {
  const opts: ParseOptions = { executors: { ...executors, dependent: { schema: dependentSchema } } };
  const errors = (body: unknown) => {
    const r = parseDefinition(body, opts);
    if (r.ok) throw new Error('expected validation errors');
    return r.errors;
  };

  it("a dependent task's workflow that is not a string is not reported as missing", () => {
    expect(errors({ name: 'wf', tasks: { d: { type: 'dependent', workflow: 5, params: {} } } })).toStrictEqual([
      { path: 'tasks.d.workflow', message: 'expected a workflow name' },
    ]);
  });

  it('every wanted param must match, not just one', () => {
    expect(paramsMatch({ a: 1, b: 2 }, { a: 1, b: 3 })).toBe(false);
  });

  it('a webhook scheme that merely ends in http is refused', () => {
    expect(
      errors({ name: 'wf', notify: [{ on: ['failed'], webhook: 'xhttp://hooks.example.com/' }], tasks: { a: { type: 'noop' } } }),
    ).toStrictEqual([{ path: 'notify[0].webhook', message: 'expected an http or https URL' }]);
  });
});
