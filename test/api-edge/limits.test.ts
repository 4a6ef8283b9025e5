import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_PATTERN, MAX_DEFINITION_DEPTH, MAX_PARAM_DEPTH, MAX_PARAMS_BYTES } from '../../functions/engine/limits.js';
import { type Harness, startHarness, tableSnapshot } from '../support/harness.js';

/** `{"a": {"a": ... leaf}}`, `depth` objects deep. */
const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const json = { 'content-type': 'application/json' };

/** Runs need the engine: on a shared, loaded machine they are slow, never failing for it. */
const SLOW_MS = 90_000;

describe('limits at the edge', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const put = await h.request('PUT', '/workflows/pobj', {
      params: { o: { type: 'object', default: {} } },
      tasks: { a: { type: 'noop', output: { v: '${params.o}' } }, b: { type: 'noop', after: ['a'], output: '${tasks.a.output}' } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
  }, 2 * SLOW_MS);
  afterAll(() => h.stop());

  /** The request is a 4xx in Baton's shape and the table is unchanged; returns the error. */
  async function refused(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const before = await tableSnapshot(h.config.table);
    const r = await h.request(method, path, body, headers);
    expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(status);
    expect(r.body).toEqual({ error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) } });
    expect(await tableSnapshot(h.config.table)).toBe(before);
    return r.body.error as { code: string; details: { path: string; message: string }[] };
  }
  const paths = (e: { details: { path: string }[] }) => e.details.map((d) => d.path);

  it(
    'a definition nested past the limit is a 400 naming the path; one at the limit is stored',
    async () => {
      const deep = (n: number) => ({ tasks: { a: { type: 'noop', output: nested(n - 4) } } });
      const e = await refused(400, 'PUT', '/workflows/deepdef', deep(28));
      expect(e.details[0]?.path).toMatch(/^tasks\.a\.output(\.a)+$/);
      expect(e.details[0]?.message).toContain('nested too deep');
      // deep(n) is n - 1 levels: the document, tasks, a, then the output's own objects.
      expect((await h.request('PUT', '/workflows/deepdef', deep(MAX_DEFINITION_DEPTH + 1))).status).toBe(201);
      await refused(400, 'PUT', '/workflows/deepdef', deep(MAX_DEFINITION_DEPTH + 2));
    },
    2 * SLOW_MS,
  );

  it(
    'params nested past the limit are a 400; at the limit, the run (and its derived outputs) succeeds',
    async () => {
      const e = await refused(400, 'POST', '/workflows/pobj/runs', { params: { o: nested(30) } });
      expect(e.code).toBe('invalid_body');
      expect(e.details[0]?.path).toMatch(/^params\.o(\.a)+$/);
      const ok = await h.request('POST', '/workflows/pobj/runs', { params: { o: nested(MAX_PARAM_DEPTH) } });
      expect(ok.status).toBe(201);
      const run = await h.waitForRun(ok.body.runId, SLOW_MS);
      expect(run.status).toBe('succeeded');
      expect(run.output).toEqual({ b: { v: nested(MAX_PARAM_DEPTH) } });
    },
    2 * SLOW_MS,
  );

  it(
    '10 000 nested brackets are a 400 wherever they come in (JSON, YAML, params, callback)',
    async () => {
      const brackets = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      await refused(400, 'PUT', '/workflows/brackets', `{"tasks": {"a": {"type": "noop", "output": ${brackets}}}}`, json);
      await refused(400, 'PUT', '/workflows/brackets', `tasks:\n  a:\n    type: noop\n    output: ${brackets}\n`, {
        'content-type': 'application/yaml',
      });
      await refused(400, 'POST', '/workflows/pobj/runs', `{"params": {"o": {"x": ${brackets}}}}`, json);
      await refused(400, 'POST', '/callbacks/v1.abcd.abcd', `{"output": ${brackets}}`, json);
    },
    2 * SLOW_MS,
  );

  it(
    '__proto__ is refused anywhere, naming its path; constructor is stored as it is',
    async () => {
      const e1 = await refused(
        400,
        'PUT',
        '/workflows/proto',
        '{"params": {"__proto__": {"type": "string"}}, "tasks": {"a": {"type": "noop"}}}',
        json,
      );
      expect(paths(e1)).toContain('params.__proto__');
      const e2 = await refused(400, 'PUT', '/workflows/proto', '{"tasks": {"a": {"type": "noop", "output": {"__proto__": 1}}}}', json);
      expect(paths(e2)).toContain('tasks.a.output.__proto__');
      const e3 = await refused(
        400,
        'PUT',
        '/workflows/proto',
        '{"tasks": {"a": {"type": "http", "url": "http://127.0.0.1:9/", "headers": {"__proto__": "x"}}}}',
        json,
      );
      expect(paths(e3)).toContain('tasks.a.headers.__proto__');
      const e4 = await refused(400, 'POST', '/workflows/pobj/runs', '{"params": {"o": {"__proto__": {"x": 1}}}}', json);
      expect(paths(e4)).toContain('params.o.__proto__');
      const e5 = await refused(400, 'POST', '/callbacks/v1.abcd.abcd', '{"output": {"k": {"__proto__": 1}}}', json);
      expect(paths(e5)).toContain('output.k.__proto__');
      const e6 = await refused(400, 'PUT', '/workflows/proto', '{"tasks": {"a": {"type": "noop", "output": {"": 1}}}}', json);
      expect(e6.details).toEqual([{ path: 'tasks.a.output[""]', message: 'empty key' }]);

      const put = await h.request(
        'PUT',
        '/workflows/ctor',
        '{"tasks": {"a": {"type": "noop", "output": {"constructor": {"prototype": 1}}}}}',
        json,
      );
      expect(put.status).toBe(201);
      const start = await h.request('POST', '/workflows/pobj/runs', '{"params": {"o": {"constructor": 2}}}', json);
      const [run, ctor] = await Promise.all([
        h.waitForRun(start.body.runId, SLOW_MS),
        h.request('POST', '/workflows/ctor/runs', {}).then((r) => h.waitForRun(r.body.runId, SLOW_MS)),
      ]);
      expect(run.output).toEqual({ b: { v: { constructor: 2 } } });
      expect(ctor.output).toEqual({ a: { constructor: { prototype: 1 } } });
    },
    2 * SLOW_MS,
  );

  it(
    'numbers and strings DynamoDB cannot store are a 400',
    async () => {
      const e1 = await refused(400, 'POST', '/workflows/pobj/runs', '{"params": {"o": {"big": 1e200, "tiny": 1e-200}}}', json);
      expect(paths(e1).sort()).toEqual(['params.o.big', 'params.o.tiny']);
      const e2 = await refused(400, 'POST', '/workflows/pobj/runs', '{"params": {"o": {"s": "\\ud800"}}}', json);
      expect(paths(e2)).toEqual(['params.o.s']);
    },
    2 * SLOW_MS,
  );

  it(
    'run params between the params limit and the body limit are a 400, not a 500',
    async () => {
      for (const kb of [MAX_PARAMS_BYTES / 1024 + 1, 400, 500]) {
        const e = await refused(400, 'POST', '/workflows/pobj/runs', { params: { o: { pad: 'x'.repeat(kb * 1024) } } });
        expect(e.details[0]).toMatchObject({ path: 'params', message: expect.stringContaining('too large') });
      }
    },
    2 * SLOW_MS,
  );

  it(
    'ids in paths: a 5 000-character run id is a 400; a well-formed unknown one is a 404',
    async () => {
      const e = await refused(400, 'GET', `/runs/${'r'.repeat(5000)}`);
      expect(e.details[0]?.path).toBe('runId');
      await refused(400, 'POST', `/runs/${'r'.repeat(5000)}/cancel`);
      await refused(400, 'POST', `/callbacks/${'t'.repeat(5000)}`, { output: 1 });
      expect(ID_PATTERN.test('r'.repeat(128))).toBe(true);
      expect((await h.request('GET', `/runs/${'r'.repeat(128)}`)).status).toBe(404);
    },
    2 * SLOW_MS,
  );

  it(
    'the name in the URL is the name: never a base name, never a different body name',
    async () => {
      const hello = { tasks: { a: { type: 'noop' } } };
      expect((await h.request('PUT', '/workflows/hello', hello)).status).toBe(201);
      for (const path of ['/workflows/x%2F..%2Fhello', '/workflows/a%2Fb', '/workflows/foo.yaml']) {
        const e = await refused(400, 'PUT', path, hello);
        expect(e.code).toBe('invalid_path');
        expect(paths(e)).toEqual(['name']);
      }
      const e = await refused(400, 'PUT', '/workflows/hello', { name: 'other', ...hello });
      expect(e.details).toEqual([{ path: 'name', message: expect.stringContaining('does not match') }]);
      const got = await h.request('GET', '/workflows/hello');
      expect(got.body).toMatchObject({ name: 'hello', version: 1 });
    },
    2 * SLOW_MS,
  );

  it(
    '50 concurrent PUTs of one workflow: each stored or told to retry (503, Retry-After), never a 500',
    async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          h.app.request('/workflows/busy', {
            method: 'PUT',
            headers: json,
            body: JSON.stringify({ description: `v${i}`, tasks: { a: { type: 'noop' } } }),
          }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s !== 201 && s !== 503)).toEqual([]);
      for (const r of results.filter((x) => x.status === 503)) expect(r.headers.get('retry-after')).toBe('1');
      const versions = await Promise.all(
        results.filter((r) => r.status === 201).map(async (r) => ((await r.json()) as { version: number }).version),
      );
      expect(new Set(versions).size).toBe(versions.length);
      const latest = await h.request('GET', '/workflows/busy');
      expect(latest.body.version).toBe(Math.max(...versions));
    },
    2 * SLOW_MS,
  );
});
