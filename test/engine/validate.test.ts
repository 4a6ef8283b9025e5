import { describe, expect, it } from 'vitest';
import { type ParseOptions, parseDefinition, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { EXAMPLE_YAML, executors } from './fixtures.js';

const opts: ParseOptions = { executors };

/** A valid definition to break one field at a time. */
function base(): Record<string, any> {
  return {
    name: 'wf',
    params: { day: { type: 'string', required: true } },
    tasks: {
      a: { type: 'noop' },
      b: { type: 'noop', after: ['a'], output: { x: '${tasks.a.output}' } },
    },
  };
}

function errorsOf(body: unknown, o: Partial<ParseOptions> = {}): ValidationIssue[] {
  const r = parseDefinition(body, { ...opts, ...o });
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

function expectError(body: unknown, path: string, message: string | RegExp, o: Partial<ParseOptions> = {}): void {
  const errors = errorsOf(body, o);
  const match = errors.find((e) => e.path === path && (typeof message === 'string' ? e.message === message : message.test(e.message)));
  expect(match, `no ${path}: ${String(message)} in ${JSON.stringify(errors, null, 1)}`).toBeDefined();
}

describe('parseDefinition: the documented example', () => {
  it('validates and normalises the YAML example', () => {
    const r = parseDefinition(EXAMPLE_YAML, { ...opts, contentType: 'application/yaml', name: 'nightly-report' });
    expect(r).toEqual({
      ok: true,
      value: {
        name: 'nightly-report',
        description: "Pull yesterday's orders, wait for the export, summarize",
        params: { day: { type: 'string', required: true }, limit: { type: 'integer', required: false, default: 10 } },
        failureStrategy: 'end',
        tasks: {
          extract: {
            type: 'http',
            after: [],
            retry: { attempts: 3, delayMs: 10_000, backoff: 'exponential', maxDelayMs: 300_000 },
            timeoutMs: 120_000,
            config: { method: 'POST', url: 'https://example.com/export', headers: { 'x-team': 'data' }, body: { day: '${params.day}' } },
          },
          settle: {
            type: 'wait',
            after: ['extract'],
            retry: { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 },
            config: { duration: '30s' },
          },
          summarize: {
            type: 'noop',
            after: ['settle'],
            retry: { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 },
            config: { output: { rows: '${tasks.extract.output.rows}' } },
          },
        },
      },
    });
  });

  it('reads YAML without a content type, JSON text, and parsed objects alike', () => {
    const fromYaml = parseDefinition(EXAMPLE_YAML, opts);
    expect(fromYaml.ok).toBe(true);
    if (!fromYaml.ok) return;
    const asJson = JSON.stringify({ ...fromYaml.value, tasks: { a: { type: 'noop' } } });
    expect(parseDefinition(asJson, { ...opts, contentType: 'application/json' }).ok).toBe(true);
    const raw = base();
    expect(parseDefinition(JSON.stringify(raw), opts)).toEqual(parseDefinition(raw, opts));
  });
});

describe('parseDefinition: decoding', () => {
  it('reports invalid JSON when the content type says JSON', () => {
    expectError('{"name": ', '', /^invalid JSON/, { contentType: 'application/json' });
  });
  it('reports YAML syntax errors and duplicate keys', () => {
    expectError('name: [unclosed', '', /^invalid YAML/);
    expectError('name: a\nname: b\ntasks: {}', '', /^invalid YAML: .*unique/i, { contentType: 'text/yaml' });
  });
  it('rejects a document that is not an object', () => {
    expectError('just text', '', 'expected a workflow definition object, got string');
    expectError([1], '', 'expected a workflow definition object, got array');
  });
});

describe('parseDefinition: top level and names', () => {
  it('rejects unknown top-level keys', () => {
    expectError({ ...base(), version: 2 }, 'version', 'unknown field');
  });
  it('requires a name unless the URL gives one, and never derives it from a file name', () => {
    const { name: _, ...rest } = base();
    expectError(rest, 'name', 'required');
    const r = parseDefinition(rest, { ...opts, name: 'from-url' });
    expect(r.ok && r.value.name).toBe('from-url');
    expectError(rest, 'name', /^invalid name "dir\/from-path.yml"/, { name: 'dir/from-path.yml' });
  });
  it('checks the workflow name pattern and path mismatch', () => {
    expectError({ ...base(), name: '9lives' }, 'name', /^invalid name "9lives"/);
    expectError({ ...base(), name: 'a'.repeat(65) }, 'name', /^invalid name/);
    expectError({ ...base(), name: 7 }, 'name', 'expected a string, got integer');
    expectError(base(), 'name', 'name "wf" does not match "other" from the URL', { name: 'other' });
    expectError(base(), 'name', 'name "wf" does not match "wf.json" from the URL', { name: 'wf.json' });
  });
  it('checks description and failureStrategy', () => {
    expectError({ ...base(), description: 3 }, 'description', 'expected a string, got integer');
    expectError({ ...base(), failureStrategy: 'stop' }, 'failureStrategy', 'expected end or continue');
    const r = parseDefinition({ ...base(), failureStrategy: 'continue' }, opts);
    expect(r.ok && r.value.failureStrategy).toBe('continue');
  });
});

describe('parseDefinition: params', () => {
  it('checks param names, types and fields', () => {
    expectError({ ...base(), params: { 'bad-name': { type: 'string' } } }, 'params.bad-name', /^invalid param name/);
    expectError({ ...base(), params: { '1x': { type: 'string' } } }, 'params["1x"]', /^invalid param name/);
    expectError({ ...base(), params: { day: { type: 'date' } } }, 'params.day.type', /^expected one of string, number/);
    expectError({ ...base(), params: { day: { type: 'string', extra: 1 } } }, 'params.day.extra', 'unknown field');
    expectError({ ...base(), params: { day: { type: 'string', required: 'yes' } } }, 'params.day.required', /expected boolean/);
    expectError({ ...base(), params: [] }, 'params', /^expected an object/);
  });
  it('checks defaults against the type', () => {
    expectError(
      { ...base(), params: { limit: { type: 'integer', default: 'ten' } } },
      'params.limit.default',
      'expected integer, got string',
    );
    expectError(
      { ...base(), params: { limit: { type: 'integer', default: 1.5 } } },
      'params.limit.default',
      'expected integer, got number',
    );
    expectError({ ...base(), params: { o: { type: 'object', default: [] } } }, 'params.o.default', 'expected object, got array');
    expectError(
      { ...base(), params: { d: { type: 'string', required: true, default: 'x' } } },
      'params.d.default',
      'a required param cannot have a default',
    );
  });
});

describe('parseDefinition: tasks', () => {
  it('requires between 1 and 2000 tasks', () => {
    expectError({ ...base(), tasks: {} }, 'tasks', 'at least one task is required');
    expectError({ name: 'wf' }, 'tasks', 'required: at least one task');
    expectError({ ...base(), tasks: [{ type: 'noop' }] }, 'tasks', /^expected an object mapping task names/);
    const many = Object.fromEntries(Array.from({ length: 2001 }, (_, i) => [`t${i}`, { type: 'noop' }]));
    expectError({ ...base(), tasks: many }, 'tasks', 'too many tasks: 2001 (at most 2000)');
  });
  it('checks task names and shapes', () => {
    expectError({ ...base(), tasks: { _a: { type: 'noop' } } }, 'tasks._a', /^invalid task name "_a"/);
    expectError({ ...base(), tasks: { a: 'noop' } }, 'tasks.a', 'expected a task object, got string');
    expectError({ ...base(), tasks: { a: {} } }, 'tasks.a.type', 'required');
    expectError({ ...base(), tasks: { a: { type: 1 } } }, 'tasks.a.type', 'expected a string, got integer');
    expectError(
      { ...base(), tasks: { a: { type: 'shell' } } },
      'tasks.a.type',
      'unknown task type "shell" (known types: fail, http, noop, wait)',
    );
  });
  it('checks after', () => {
    const t = (after: unknown) => ({ ...base(), tasks: { a: { type: 'noop' }, b: { type: 'noop', after } } });
    expectError(t(['a', 'zz']), 'tasks.b.after[1]', 'unknown dependency "zz"');
    expectError(t('zz'), 'tasks.b.after', 'unknown dependency "zz"');
    expectError(t(['b']), 'tasks.b.after[0]', 'self dependency: "b" cannot run after itself');
    expectError(t(['a', 'a']), 'tasks.b.after[1]', 'duplicate dependency "a"');
    expectError(t([1]), 'tasks.b.after[0]', 'expected a task name, got integer');
    expectError(t({ a: 1 }), 'tasks.b.after', 'expected a task name or a list of task names, got object');
    const r = parseDefinition(t('a'), opts);
    expect(r.ok && r.value.tasks.b?.after).toEqual(['a']);
  });
  it('reports each cycle once, naming it', () => {
    const def = {
      ...base(),
      tasks: {
        a: { type: 'noop', after: ['c'] },
        b: { type: 'noop', after: ['a'] },
        c: { type: 'noop', after: ['b'] },
        x: { type: 'noop', after: ['y'] },
        y: { type: 'noop', after: ['x'] },
        z: { type: 'noop', after: ['a', 'y'] },
      },
    };
    const cycles = errorsOf(def).filter((e) => e.message.startsWith('cycle:'));
    expect(cycles).toEqual([
      { path: 'tasks.a.after[0]', message: 'cycle: a -> b -> c -> a' },
      { path: 'tasks.x.after[0]', message: 'cycle: x -> y -> x' },
    ]);
  });
  it('lists at most 20 cycles', () => {
    // 25 two-task cycles: t0 <-> t1, t2 <-> t3, ...
    const tasks = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, { type: 'noop', after: [`t${i ^ 1}`] }]));
    const errors = errorsOf({ name: 'wf', tasks });
    expect(errors.filter((e) => e.message.startsWith('cycle:'))).toHaveLength(20);
    expect(errors).toContainEqual({ path: 'tasks', message: 'more cycles not listed (showing the first 20)' });
  });
  it('checks retry and timeout', () => {
    const t = (extra: Record<string, unknown>) => ({ ...base(), tasks: { a: { type: 'noop', ...extra } } });
    expectError(t({ retry: { attempts: 0 } }), 'tasks.a.retry.attempts', 'must be at least 1');
    expectError(t({ retry: { attempts: 101 } }), 'tasks.a.retry.attempts', 'must be at most 100');
    expectError(t({ retry: { attempts: 1.5 } }), 'tasks.a.retry.attempts', 'expected an integer');
    expectError(t({ retry: { attempts: 2, delay: 'soon' } }), 'tasks.a.retry.delay', /^invalid duration "soon"/);
    expectError(t({ retry: { attempts: 2, delay: -1 } }), 'tasks.a.retry.delay', /^invalid duration -1/);
    expectError(t({ retry: { backoff: 'linear' } }), 'tasks.a.retry.backoff', 'expected fixed or exponential');
    expectError(t({ retry: { tries: 2 } }), 'tasks.a.retry.tries', 'unknown field');
    expectError(t({ retry: { attempts: 2, delay: '10m', maxDelay: '1m' } }), 'tasks.a.retry.maxDelay', 'must be at least the delay');
    expectError(t({ retry: 3 }), 'tasks.a.retry', /expected object/);
    expectError(t({ timeout: '2 weeks' }), 'tasks.a.timeout', /^invalid duration/);
    expectError(t({ timeout: '400d' }), 'tasks.a.timeout', /^invalid duration/);
    expectError(t({ timeout: 0 }), 'tasks.a.timeout', 'must be more than 0');
  });
  it('applies retry defaults', () => {
    const retryOf = (retry: unknown) => {
      const r = parseDefinition({ ...base(), tasks: { a: { type: 'noop', retry, timeout: 90 } } }, opts);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      expect(r.value.tasks.a?.timeoutMs).toBe(90_000);
      return r.value.tasks.a?.retry;
    };
    expect(retryOf(undefined)).toEqual({ attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 });
    expect(retryOf({ attempts: 4 })).toEqual({ attempts: 4, delayMs: 1000, backoff: 'fixed', maxDelayMs: 3_600_000 });
    expect(retryOf({ backoff: 'exponential' })).toEqual({ attempts: 1, delayMs: 0, backoff: 'exponential', maxDelayMs: 3_600_000 });
    expect(retryOf({ attempts: 2, delay: '2h' })).toEqual({ attempts: 2, delayMs: 7_200_000, backoff: 'fixed', maxDelayMs: 7_200_000 });
  });
  it('checks the config with the executor schema, at task paths', () => {
    const t = (extra: Record<string, unknown>) => ({ ...base(), tasks: { a: { type: 'http', ...extra } } });
    expectError(t({}), 'tasks.a.url', /expected string/);
    expectError(t({ url: 'not a url' }), 'tasks.a.url', 'Invalid URL, or a template such as ${params.x}');
    // zod reports only the template branch here (templated() lives in functions/tasks/executor.ts).
    expectError(t({ url: 'https://x.test', method: 'FETCH' }), 'tasks.a.method', /Invalid option|template/);
    expectError(t({ url: 'https://x.test', headers: { a: 1 } }), 'tasks.a.headers.a', /expected string/);
    expectError(t({ url: 'https://x.test', bogus: true }), 'tasks.a.bogus', 'unknown field');
    expect(parseDefinition(t({ url: '${params.day}', method: '${params.day}' }), opts).ok).toBe(true);
  });
});

describe('parseDefinition: templates', () => {
  const t = (tasks: Record<string, unknown>) => ({ ...base(), tasks });
  it('rejects undeclared params', () => {
    expectError(
      t({ a: { type: 'noop', output: { v: ['${params.nope}'] } } }),
      'tasks.a.output.v[0]',
      '${params.nope}: undeclared param "nope"',
    );
  });
  it('requires referenced tasks to be upstream', () => {
    expectError(
      t({ a: { type: 'noop' }, b: { type: 'noop', output: 'x ${tasks.a.output.rows}' } }),
      'tasks.b.output',
      '${tasks.a.output.rows}: task "a" is not upstream of "b" (add it to after, directly or through another task)',
    );
    expectError(
      t({ a: { type: 'noop', output: '${tasks.b.output}' }, b: { type: 'noop', after: 'a' } }),
      'tasks.a.output',
      /task "b" is not upstream of "a"/,
    );
    expectError(t({ a: { type: 'noop', output: '${tasks.zz.output}' } }), 'tasks.a.output', '${tasks.zz.output}: unknown task "zz"');
    expectError(
      t({ a: { type: 'noop', output: '${tasks.a.output}' } }),
      'tasks.a.output',
      '${tasks.a.output}: a task cannot use its own output',
    );
  });
  it('accepts transitive ancestors and run/task references', () => {
    const r = parseDefinition(
      t({
        a: { type: 'noop' },
        b: { type: 'noop', after: 'a' },
        c: { type: 'noop', after: ['b'], output: '${tasks.a.output} ${run.id} ${task.attempt} ${params.day} $${not.a.template}' },
      }),
      opts,
    );
    expect(r.ok).toBe(true);
  });
  it('reports malformed templates', () => {
    expectError(
      t({ a: { type: 'noop', output: { m: 'x ${params.day' } } }),
      'tasks.a.output.m',
      '${params.day: unclosed template (missing "}")',
    );
    expectError(t({ a: { type: 'noop', output: '${}' } }), 'tasks.a.output', '${}: empty template');
    expectError(t({ a: { type: 'noop', output: '${env.HOME}' } }), 'tasks.a.output', /unknown root "env"/);
  });
});

describe('parseDefinition: size and collecting', () => {
  it('rejects a definition too large for one item', () => {
    const big = { ...base(), tasks: { a: { type: 'noop', output: 'x'.repeat(2000) } } };
    expectError(big, '', /^definition is too large for one item: \d+ bytes serialized, at most 1000$/, { maxBytes: 1000 });
    expect(parseDefinition(big, opts).ok).toBe(true);
  });
  it('reports all errors at once', () => {
    const errors = errorsOf({
      name: '-bad',
      extra: 1,
      params: { p: { type: 'nope' } },
      tasks: {
        a: { type: 'shell', after: ['ghost'] },
        b: { type: 'noop', after: ['b'], retry: { delay: 'x' }, output: '${params.q}' },
      },
    });
    expect(errors.map((e) => e.path).sort()).toEqual(
      [
        'extra',
        'name',
        'params.p.type',
        'tasks.a.type',
        'tasks.a.after[0]',
        'tasks.b.after[0]',
        'tasks.b.retry.delay',
        'tasks.b.output',
      ].sort(),
    );
  });
  // Behaviour only: a 2,000-task chain is deep enough to overflow a recursive walk. How long it takes is
  // `npm run bench`'s business, not a test's (a loaded machine must not fail the suite).
  it('validates 2000 tasks in a chain and in parallel (no recursion that a long chain overflows)', () => {
    const chain = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [
        `t${i}`,
        { type: 'noop', ...(i > 0 && { after: [`t${i - 1}`], output: `\${tasks.t0.output}` }) },
      ]),
    );
    const wide = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`t${i}`, { type: 'noop' }]));
    expect(parseDefinition({ name: 'chain', tasks: chain }, opts).ok).toBe(true);
    expect(parseDefinition({ name: 'wide', tasks: wide }, opts).ok).toBe(true);
  });
});
