import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, MAX_DEFINITION_DEPTH, MAX_PARAM_DEPTH, MAX_PARAMS_BYTES } from '../../functions/engine/limits.js';
import { type Harness, startHarness, tableSnapshot } from '../support/harness.js';

/** Keys that JavaScript, DynamoDB, templates or paths treat specially. */
const oddKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  'a.b',
  '[0]',
  '${params.x}',
  '\u0000',
  '\ud800',
  'é',
  '🎉',
  'k'.repeat(1500),
  'pk',
  'sk',
  'RUN#x',
);
const key = fc.oneof(oddKey, fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 4 }));
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.double(),
  fc.constantFrom(1e200, -1e-200, 0, -0, 2 ** 53 + 1, 1e125, Number.MAX_VALUE),
  fc.boolean(),
  fc.constant(null),
);
/** Wide-ish JSON with odd keys. */
const wide = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
})).value;
/** JSON text nested `depth` deep around every depth limit (built as text: the test must not overflow either). */
const deep = fc
  .tuple(
    fc.constantFrom(MAX_PARAM_DEPTH - 1, MAX_PARAM_DEPTH, MAX_PARAM_DEPTH + 1, MAX_DEFINITION_DEPTH, 28, 31, 33, 200, 5000),
    fc.boolean(),
    wide,
  )
  .map(
    ([depth, arrays, inner]) => `${(arrays ? '[' : '{"a":').repeat(depth)}${JSON.stringify(inner)}${(arrays ? ']' : '}').repeat(depth)}`,
  );
/** Strings sized around the params, definition-item and body limits. */
const sized = fc
  .constantFrom(MAX_PARAMS_BYTES - 64, MAX_PARAMS_BYTES + 64, 350_000, 400 * 1024, MAX_BODY_BYTES - 200)
  .map((n) => JSON.stringify('x'.repeat(n)));
/** A hostile JSON value, as text. */
const hostile = fc.oneof(
  wide.map((v) => JSON.stringify(v)),
  deep,
  sized,
  fc.string({ unit: 'binary', maxLength: 40 }).map((v) => JSON.stringify(v)),
);

const yamlBomb = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from(
    { length: 8 },
    (_, i) =>
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(97 + i)}`)
        .join(',')}]`,
  ),
  'tasks: {t: {type: noop, output: *i}}',
].join('\n');
const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/yaml',
  'text/yaml',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '\u00ff/\u00ff',
);
const text = fc.oneof(
  hostile,
  fc.constant(yamlBomb),
  fc.constant(`${'['.repeat(10_000)}${']'.repeat(10_000)}`),
  fc.constant(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
  fc.constant('a: &x 1\nb: *y\n'),
  fc.string({ unit: 'binary', maxLength: 100 }),
);
const id = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('r'.repeat(5000), '..', '%2F..%2Fx', 'a%2Fb', 'x.yaml', '%00'),
);
const seg = (s: string) => (/%[0-9A-F]{2}/.test(s) ? s : encodeURIComponent(s));

/** One hostile request: [method, path, body text or value, content type]. */
const request = fc.oneof(
  fc.tuple(
    fc.constant('PUT'),
    id.map((n) => `/workflows/${seg(n)}`),
    text,
    contentType,
  ),
  fc.tuple(
    fc.constant('PUT'),
    fc.constant('/workflows/fz'),
    fc.oneof(
      text,
      hostile.map((o) => `{"tasks": {"a": {"type": "noop", "output": ${o}}}}`),
    ),
    contentType,
  ),
  fc.tuple(
    fc.constant('POST'),
    fc.constant('/workflows/fz/runs'),
    fc.oneof(
      text,
      hostile.map((o) => `{"params": {"o": ${o}}}`),
      wide.map((p) => JSON.stringify({ params: p })),
    ),
    contentType,
  ),
  fc.tuple(
    fc.constant('POST'),
    id.map((t) => `/callbacks/${seg(t)}`),
    fc.oneof(
      text,
      hostile.map((o) => `{"output": ${o}}`),
    ),
    contentType,
  ),
  fc.tuple(
    fc.constantFrom('GET', 'POST'),
    id.map((r) => `/runs/${seg(r)}`),
    fc.constant(''),
    contentType,
  ),
  fc.tuple(
    fc.constant('PUT'),
    id.map((s) => `/workflows/fz/schedules/${seg(s)}`),
    fc.oneof(
      text,
      hostile.map((p) => `{"cron": "0 2 * * *", "params": ${p}}`),
    ),
    contentType,
  ),
  fc.tuple(
    fc.constant('GET'),
    id.map((q) => `/workflows/fz/runs?limit=${seg(q)}&cursor=${seg(q)}`),
    fc.constant(''),
    contentType,
  ),
);

/** Runs need the engine: on a shared, loaded machine they are slow, never failing for it. */
const SLOW_MS = 90_000;

describe('hostile input, generated', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    for (const name of ['fz', 'healthy']) {
      const r = await h.request('PUT', `/workflows/${name}`, {
        params: { o: { type: 'object', default: {} } },
        tasks: { a: { type: 'noop', output: { v: '${params.o}' } }, b: { type: 'noop', after: ['a'], output: '${tasks.a.output}' } },
      });
      expect(r.status).toBe(201);
    }
  }, 2 * SLOW_MS);
  afterAll(() => h.stop());

  it(
    'never answers 5xx, and a refused request stores nothing',
    async () => {
      const before = await tableSnapshot(h.config.table);
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(request, async ([method, path, body, type]) => {
          const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
          const res = await h.app.request(path, { method, headers, ...(method === 'GET' ? {} : { body }) });
          const answer = await res.text();
          expect(res.status, `${method} ${path.slice(0, 80)} -> ${answer.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(JSON.parse(answer)).toEqual({
              error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) },
            });
          } else if (method !== 'GET') accepted++;
        }),
        { numRuns: 80, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
      // Nothing half-stored: when nothing was accepted the table is exactly as it was; either way every
      // stored workflow summary has its definition, and the API still serves and runs.
      if (accepted === 0) expect(await tableSnapshot(h.config.table)).toBe(before);
      const list = await h.request('GET', '/workflows');
      expect(list.status).toBe(200);
      for (const w of list.body.workflows) {
        const got = await h.request('GET', `/workflows/${encodeURIComponent(w.name)}`);
        expect(got.status).toBe(200);
        expect(got.body.version).toBe(w.latestVersion);
      }
      const start = await h.request('POST', '/workflows/healthy/runs', { params: { o: { ok: true } } });
      expect(start.status).toBe(201);
      const run = await h.waitForRun(start.body.runId, SLOW_MS);
      expect(run).toMatchObject({ status: 'succeeded', output: { b: { v: { ok: true } } } });
    },
    2 * SLOW_MS,
  );
});
