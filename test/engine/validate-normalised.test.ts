import { describe, expect, it } from 'vitest';
import { type ParseOptions, parseDefinition, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { executors } from './fixtures.js';

/**
 * The normalised definition exactly (`toStrictEqual`: an optional field is absent, not `undefined`, when
 * not given), `null` read as "not given" for every optional field, and the messages at each field's
 * edges. What is stored is what a run later reads, so a stray key or a lost default is a behaviour.
 */
const opts: ParseOptions = { executors };
const NO_RETRY = { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 };

function parsed(body: unknown, o: Partial<ParseOptions> = {}) {
  const r = parseDefinition(body, { ...opts, ...o });
  if (!r.ok) throw new Error(`expected a valid definition: ${JSON.stringify(r.errors)}`);
  return r.value;
}

function errorsOf(body: unknown, o: Partial<ParseOptions> = {}): ValidationIssue[] {
  const r = parseDefinition(body, { ...opts, ...o });
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

describe('the normalised definition, exactly', () => {
  it('a minimal definition gets the defaults and no optional field', () => {
    expect(parsed({ name: 'wf', tasks: { a: { type: 'noop' } } })).toStrictEqual({
      name: 'wf',
      params: {},
      failureStrategy: 'end',
      tasks: { a: { type: 'noop', after: [], retry: NO_RETRY, config: {} } },
    });
  });

  it('null is "not given" for every optional field, at the top and in a task', () => {
    const def = {
      name: 'wf',
      description: null,
      params: null,
      concurrency: null,
      timeout: null,
      sla: null,
      notify: null,
      tasks: { a: { type: 'noop', after: null, retry: null, timeout: null, when: null, trigger: null } },
    };
    expect(parsed(def)).toStrictEqual(parsed({ name: 'wf', tasks: { a: { type: 'noop' } } }));
  });

  it('every optional field given is kept, normalised', () => {
    const def = {
      name: 'wf',
      description: 'd',
      params: {
        day: { type: 'string', required: true, description: 'the day' },
        n: { type: 'integer', default: 0 },
        off: { type: 'boolean', default: false },
      },
      failureStrategy: 'continue',
      concurrency: { policy: 'queue' },
      timeout: '1h',
      sla: 90,
      notify: [{ on: ['failed'], webhook: 'https://hooks.example.com/x' }],
      tasks: {
        a: { type: 'noop', timeout: 5, when: 'params.n > 0', trigger: 'all_done', pool: 'db', poolSlots: 2, priority: -1 },
        b: { type: 'noop', after: 'a', trigger: 'all_succeeded', priority: 0 },
      },
    };
    expect(parsed(def)).toStrictEqual({
      name: 'wf',
      description: 'd',
      params: {
        day: { type: 'string', required: true, description: 'the day' },
        n: { type: 'integer', required: false, default: 0 },
        off: { type: 'boolean', required: false, default: false },
      },
      failureStrategy: 'continue',
      concurrency: { policy: 'queue', limit: 1 },
      timeoutMs: 3_600_000,
      slaMs: 90_000,
      notify: [{ on: ['failed'], webhook: 'https://hooks.example.com/x' }],
      tasks: {
        a: {
          type: 'noop',
          after: [],
          retry: NO_RETRY,
          timeoutMs: 5000,
          when: 'params.n > 0',
          trigger: 'all_done',
          pool: 'db',
          poolSlots: 2,
          priority: -1,
          config: {},
        },
        // The default join rule is stored as absent, so definitions written before it are unchanged.
        b: { type: 'noop', after: ['a'], retry: NO_RETRY, priority: 0, config: {} },
      },
    });
  });

  it('concurrency: allow is no policy at all; skip and queue keep their limit', () => {
    const withConcurrency = (concurrency: unknown) => parseDefinition({ name: 'wf', concurrency, tasks: { a: { type: 'noop' } } }, opts);
    const allow = withConcurrency({ policy: 'allow' });
    expect(allow.ok).toBe(true);
    expect(allow.ok && 'concurrency' in allow.value).toBe(false);
    expect(parsed({ name: 'wf', concurrency: { policy: 'skip', limit: 3 }, tasks: { a: { type: 'noop' } } }).concurrency).toStrictEqual({
      policy: 'skip',
      limit: 3,
    });
    expect(errorsOf({ name: 'wf', concurrency: { policy: 'allow', limit: 2 }, tasks: { a: { type: 'noop' } } })).toStrictEqual([
      { path: 'concurrency.limit', message: 'allow has no limit (use skip or queue)' },
    ]);
    expect(errorsOf({ name: 'wf', concurrency: { policy: 'never' }, tasks: { a: { type: 'noop' } } })).toStrictEqual([
      { path: 'concurrency.policy', message: 'expected allow, skip or queue' },
    ]);
  });

  it('retry: a maxDelay equal to the delay is accepted; the default maxDelay is at least the delay', () => {
    const retryOf = (retry: unknown) => parsed({ name: 'wf', tasks: { a: { type: 'noop', retry } } }).tasks.a?.retry;
    expect(retryOf({ attempts: 3, delay: '5m', maxDelay: '5m' })).toStrictEqual({
      attempts: 3,
      delayMs: 300_000,
      backoff: 'fixed',
      maxDelayMs: 300_000,
    });
    expect(retryOf({ attempts: 1 })).toStrictEqual({ attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 3_600_000 });
    expect(retryOf({ delay: 0, attempts: 2 })).toStrictEqual({ attempts: 2, delayMs: 0, backoff: 'fixed', maxDelayMs: 3_600_000 });
    expect(retryOf({ attempts: 2, delay: '1h1s' })).toStrictEqual({
      attempts: 2,
      delayMs: 3_601_000,
      backoff: 'fixed',
      maxDelayMs: 3_601_000,
    });
  });

  it('an invalid retry or a failed duration leaves the rest of the task intact and names only that field', () => {
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'noop', retry: { attempts: 'x' } } } })).toStrictEqual([
      { path: 'tasks.a.retry.attempts', message: 'expected an integer' },
    ]);
    expect(errorsOf({ name: 'wf', timeout: 'soon', sla: 'x', tasks: { a: { type: 'noop' } } }).map((e) => e.path)).toStrictEqual([
      'timeout',
      'sla',
    ]);
    expect(errorsOf({ name: 'wf', notify: [{ on: [], webhook: 'ftp://x' }], tasks: { a: { type: 'noop' } } })).toStrictEqual([
      { path: 'notify[0].on', message: 'name at least one event' },
      { path: 'notify[0].webhook', message: 'expected an http or https URL' },
    ]);
  });
});

describe('names, descriptions, params', () => {
  it('a name from the URL that matches the document is accepted; a bad one is reported once', () => {
    expect(parsed({ name: 'wf', tasks: { a: { type: 'noop' } } }, { name: 'wf' }).name).toBe('wf');
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'noop' } } }, { name: '1x' })).toStrictEqual([
      { path: 'name', message: 'name "wf" does not match "1x" from the URL' },
    ]);
    expect(errorsOf({ tasks: { a: { type: 'noop' } } }, { name: '1x' })).toStrictEqual([
      {
        path: 'name',
        message: 'invalid name "1x": must start with a letter and contain only letters, digits, _ and - (at most 64 characters)',
      },
    ]);
    // Only a missing name is "required"; one given as "" is invalid like any other.
    expect(errorsOf({ name: '', tasks: { a: { type: 'noop' } } })).toStrictEqual([
      {
        path: 'name',
        message: 'invalid name "": must start with a letter and contain only letters, digits, _ and - (at most 64 characters)',
      },
    ]);
    expect(errorsOf({ tasks: { a: { type: 'noop' } } })).toStrictEqual([{ path: 'name', message: 'required' }]);
    expect(errorsOf({ name: 5, tasks: { a: { type: 'noop' } } })).toStrictEqual([
      { path: 'name', message: 'expected a string, got integer' },
    ]);
  });

  it('a param name is checked and its spec still collected; a wrong default on a required param gets both messages', () => {
    expect(errorsOf({ name: 'wf', params: { 'a-b': { type: 'string' } }, tasks: { a: { type: 'noop' } } })).toStrictEqual([
      {
        path: 'params.a-b',
        message: 'invalid param name "a-b": must start with a letter or _ and contain only letters, digits and _ (at most 64 characters)',
      },
    ]);
    expect(
      errorsOf({ name: 'wf', params: { n: { type: 'integer', required: true, default: 'x' } }, tasks: { a: { type: 'noop' } } }),
    ).toStrictEqual([
      { path: 'params.n.default', message: 'expected integer, got string' },
      { path: 'params.n.default', message: 'a required param cannot have a default' },
    ]);
    expect(
      parsed({ name: 'wf', params: { _p: { type: 'string', required: false } }, tasks: { a: { type: 'noop' } } }).params,
    ).toStrictEqual({
      _p: { type: 'string', required: false },
    });
  });

  it('params listed only through a bad spec are still declared for templates', () => {
    const errors = errorsOf({
      name: 'wf',
      params: { p: { type: 'nope' } },
      tasks: { a: { type: 'noop', output: '${params.p} ${params.q}' } },
    });
    expect(errors).toStrictEqual([
      { path: 'params.p.type', message: 'expected one of string, number, integer, boolean, object, array' },
      { path: 'tasks.a.output', message: '${params.q}: undeclared param "q"' },
    ]);
  });
});

describe('tasks', () => {
  it('a known type with a config that makes its schema throw is reported, not thrown', () => {
    const throwing = {
      boom: {
        schema: {
          safeParse: () => {
            throw new Error('kaput');
          },
        } as never,
      },
    };
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'boom' } } }, { executors: { ...executors, ...throwing } })).toStrictEqual([
      { path: 'tasks.a', message: 'could not check the boom fields: kaput' },
    ]);
  });

  it('tasks given as null are missing', () => {
    expect(errorsOf({ name: 'wf', tasks: null })).toStrictEqual([{ path: 'tasks', message: 'required: at least one task' }]);
  });

  it('a task that is not an object is reported once, even when a later task names it as upstream', () => {
    expect(errorsOf({ name: 'wf', tasks: { a: 'noop', b: { type: 'noop', after: ['a'], output: '${tasks.a.output}' } } })).toStrictEqual([
      { path: 'tasks.a', message: 'expected a task object, got string' },
    ]);
  });

  it('${item} in a field named task is still refused outside a map', () => {
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'noop', task: '${item}' } } })).toStrictEqual([
      { path: 'tasks.a.task', message: 'unknown field' },
      { path: 'tasks.a.task', message: "${item}: only a map's task has an item" },
    ]);
  });

  it('a type named like an inherited property is unknown', () => {
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'toString' } } })).toStrictEqual([
      { path: 'tasks.a.type', message: 'unknown task type "toString" (known types: fail, http, noop, wait)' },
    ]);
  });

  it('when and trigger: the messages a user sees', () => {
    const task = (extra: Record<string, unknown>) => ({ name: 'wf', tasks: { a: { type: 'noop', ...extra } } });
    expect(errorsOf(task({ when: 3 }))).toStrictEqual([
      { path: 'tasks.a.when', message: 'expected a JSONata expression (a string), got integer' },
    ]);
    expect(errorsOf(task({ when: '  ' }))).toStrictEqual([{ path: 'tasks.a.when', message: 'invalid expression: empty expression' }]);
    expect(errorsOf(task({ when: 'a = ' }))[0]?.message).toMatch(/^invalid expression: S0207: .* at character \d+$/);
    const rules = 'expected one of all_succeeded, all_done, one_succeeded, all_failed, one_failed, none_failed';
    expect(errorsOf(task({ trigger: 'sometimes' }))).toStrictEqual([{ path: 'tasks.a.trigger', message: rules }]);
    expect(errorsOf(task({ trigger: 1 }))).toStrictEqual([{ path: 'tasks.a.trigger', message: rules }]);
    expect(errorsOf(task({ trigger: 'toString' }))).toStrictEqual([{ path: 'tasks.a.trigger', message: rules }]);
  });

  it('a template error inside a task is reported at the field, with the template as written', () => {
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'noop', output: { 'x y': ['${nope}'] } } } })).toStrictEqual([
      {
        path: 'tasks.a.output["x y"][0]',
        message: '${nope}: unknown root "nope" (expected params, tasks, run, task, secrets, item or index)',
      },
    ]);
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'noop', output: { v: '${item.x} ${index}' } } } })).toStrictEqual([
      { path: 'tasks.a.output.v', message: "${item.x}: only a map's task has an item" },
      { path: 'tasks.a.output.v', message: "${index}: only a map's task has an item" },
    ]);
  });

  it('an upstream reference is checked once per task, through any path of after', () => {
    const def = {
      name: 'wf',
      tasks: {
        a: { type: 'noop' },
        b: { type: 'noop' },
        c: { type: 'noop', after: ['a'], output: ['${tasks.a.output}', '${tasks.b.output}', '${tasks.a.output.x}'] },
      },
    };
    expect(errorsOf(def)).toStrictEqual([
      {
        path: 'tasks.c.output[1]',
        message: '${tasks.b.output}: task "b" is not upstream of "c" (add it to after, directly or through another task)',
      },
    ]);
  });

  it('a cycle is reported at the after entry that closes it', () => {
    const def = { name: 'wf', tasks: { a: { type: 'noop', after: ['b'] }, b: { type: 'noop', after: ['c', 'a'] }, c: { type: 'noop' } } };
    expect(errorsOf(def)).toStrictEqual([{ path: 'tasks.a.after[0]', message: 'cycle: a -> b -> a' }]);
  });

  it('exactly 20 cycles are all listed, with no "more" line', () => {
    const tasks = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`t${i}`, { type: 'noop', after: [`t${i ^ 1}`] }]));
    const errors = errorsOf({ name: 'wf', tasks });
    expect(errors).toHaveLength(20);
    expect(errors.every((e) => e.message.startsWith('cycle: '))).toBe(true);
  });

  it('exactly MAX_TASKS tasks are accepted', () => {
    const tasks = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`t${i}`, { type: 'noop' }]));
    expect(Object.keys(parsed({ name: 'wf', tasks }).tasks)).toHaveLength(2000);
  });
});

describe('size limits', () => {
  it('a definition exactly at maxBytes is accepted, one byte over is not', () => {
    const def = { name: 'wf', tasks: { a: { type: 'noop' } } };
    const bytes = Buffer.byteLength(JSON.stringify(parsed(def)));
    expect(parseDefinition(def, { ...opts, maxBytes: bytes }).ok).toBe(true);
    expect(errorsOf(def, { maxBytes: bytes - 1 })).toStrictEqual([
      { path: '', message: `definition is too large for one item: ${bytes} bytes serialized, at most ${bytes - 1}` },
    ]);
  });

  it('text up to four times maxBytes is decoded; one byte more is refused before decoding', () => {
    const json = JSON.stringify({ name: 'wf', tasks: { a: { type: 'noop' } } });
    const text = json + ' '.repeat((4 - (Buffer.byteLength(json) % 4)) % 4);
    const bytes = Buffer.byteLength(text);
    const maxBytes = bytes / 4;
    // Decoded, then too large as a stored item (the definition serializes to more than a quarter of its text here).
    expect(errorsOf(text, { maxBytes })[0]?.message).toMatch(/^definition is too large for one item: \d+ bytes serialized, at most /);
    expect(errorsOf(`${text} `, { maxBytes })).toStrictEqual([
      { path: '', message: `definition text is too large: ${bytes + 1} bytes, at most ${bytes}` },
    ]);
  });

  it('an over-deep document is refused by its shape alone', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(errorsOf({ name: 'wf', tasks: { a: { type: 'noop', output: deep } } })).toStrictEqual([
      { path: 'tasks.a.output[0][0][0][0][0][0][0][0][0][0][0][0][0]', message: 'nested too deep: at most 16 levels' },
    ]);
  });
});
