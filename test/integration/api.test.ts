import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness, tableSnapshot } from '../support/harness.js';
import { sleep } from '../support/wait.js';

describe('HTTP API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  const snapshot = () => tableSnapshot(h.config.table);

  /** Sends a request that must be rejected with `status`, and checks that the table did not change. */
  async function rejected(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const before = await snapshot();
    const r = await h.request(method, path, body, headers);
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body).toEqual({ error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) } });
    // Give anything the request might have set off (a stream event, a dispatch) time to land.
    await sleep(150);
    expect(await snapshot(), `${method} ${path} changed the table`).toBe(before);
    return r.body.error as { code: string; message: string; details: { path: string; message: string }[] };
  }

  const simple = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    description: `the ${name} workflow`,
    tasks: { a: { type: 'noop', output: { v: 1 } } },
    ...extra,
  });

  describe('definitions', () => {
    beforeEach(async () => {
      // A stored workflow that rejected requests must leave alone.
      const r = await h.request('PUT', '/workflows/keep', simple('keep'));
      expect([200, 201]).toContain(r.status);
    });

    it('reports every validation error at once, each with its path', async () => {
      const err = await rejected(400, 'PUT', '/workflows/broken', {
        name: 'broken',
        tasks: {
          a: { type: 'noop', after: ['c'] },
          b: { type: 'noop', after: ['a'] },
          c: { type: 'noop', after: ['b'] },
          d: { type: 'noop', after: ['ghost'] },
          e: { type: 'teleport' },
          f: { type: 'wait', duration: 'soon' },
          g: { type: 'noop', timeout: '5 parsecs' },
          '9lives': { type: 'noop' },
          h: { type: 'noop', after: ['h'] },
          i: { type: 'noop', output: '${tasks.b.output}' },
          j: { type: 'http' },
        },
      });
      expect(err.code).toBe('invalid_definition');
      const by = (path: string) => err.details.filter((d) => d.path === path).map((d) => d.message);
      const cycle = err.details.find((d) => d.message.startsWith('cycle:'));
      expect(cycle, JSON.stringify(err.details)).toBeDefined();
      expect(cycle).toEqual({ path: 'tasks.a.after[0]', message: 'cycle: a -> b -> c -> a' });
      expect(by('tasks.d.after[0]')).toEqual([expect.stringContaining('unknown dependency "ghost"')]);
      expect(by('tasks.e.type')).toEqual([expect.stringContaining('unknown task type "teleport"')]);
      expect(by('tasks.f.duration').join()).toMatch(/duration/);
      expect(by('tasks.g.timeout')).toEqual([expect.stringContaining('invalid duration "5 parsecs"')]);
      expect(by('tasks["9lives"]')).toEqual([expect.stringContaining('invalid task name "9lives"')]);
      expect(by('tasks.h.after[0]')).toEqual([expect.stringContaining('self dependency')]);
      expect(by('tasks.i.output')).toEqual([expect.stringContaining('not upstream')]);
      expect(by('tasks.j.url').length, JSON.stringify(err.details)).toBeGreaterThan(0);
      expect(err.message).toBe(`the definition has ${err.details.length} error(s)`);
      expect((await h.request('GET', '/workflows/broken')).status).toBe(404);
    });

    it('rejects a bad workflow name and a name that does not match the path', async () => {
      const err = await rejected(400, 'PUT', '/workflows/bad name!', simple('bad name!'));
      expect(err.details.map((d) => d.path)).toContain('name');
      const err2 = await rejected(400, 'PUT', '/workflows/keep', simple('other'));
      expect(err2.details).toEqual([{ path: 'name', message: expect.stringContaining('does not match') }]);
      const err3 = await rejected(400, 'PUT', '/workflows/keep', { ...simple('keep'), failureStrategy: 'panic', extra: 1 });
      expect(err3.details.map((d) => d.path).sort()).toEqual(['extra', 'failureStrategy']);
    });

    it('accepts YAML (by Content-Type) and reports YAML syntax errors', async () => {
      const yaml = [
        'name: from-yaml',
        'description: written in YAML',
        'params:',
        '  day: { type: string, default: "2026-01-01" }',
        'tasks:',
        '  first:',
        '    type: noop',
        '    output: { day: "${params.day}" }',
        '  second:',
        '    type: noop',
        '    after: [first]',
        '    output: "${tasks.first.output.day}"',
        '',
      ].join('\n');
      const put = await h.request('PUT', '/workflows/from-yaml', yaml, { 'content-type': 'application/yaml' });
      expect(put.status, JSON.stringify(put.body)).toBe(201);
      const got = await h.request('GET', '/workflows/from-yaml');
      expect(got.body.definition.tasks.second.after).toEqual(['first']);
      const start = await h.request('POST', '/workflows/from-yaml/runs', {});
      const run = await h.waitForRun(start.body.runId);
      expect(run.output).toEqual({ second: '2026-01-01' });

      const err = await rejected(400, 'PUT', '/workflows/from-yaml', 'name: from-yaml\ntasks: [unclosed', {
        'content-type': 'application/yaml',
      });
      expect(err.details[0]?.message).toMatch(/YAML/);
      const dup = await rejected(400, 'PUT', '/workflows/from-yaml', 'name: from-yaml\nname: again\ntasks: {}\n', {
        'content-type': 'text/yaml',
      });
      expect(dup.details[0]?.message).toMatch(/YAML/);
    });

    it('rejects bad JSON with 400', async () => {
      const err = await rejected(400, 'PUT', '/workflows/keep', '{"name": "keep", "tasks": {', { 'content-type': 'application/json' });
      expect(err.details[0]?.message).toMatch(/JSON/);
      const err2 = await rejected(400, 'POST', '/workflows/keep/runs', '{"params": ', { 'content-type': 'application/json' });
      expect(err2.code).toBe('bad_json');
    });

    it('rejects an oversize body with 413', async () => {
      const big = { ...simple('keep'), description: 'x'.repeat(600 * 1024) };
      const err = await rejected(413, 'PUT', '/workflows/keep', big);
      expect(err.code).toBe('body_too_large');
      await rejected(413, 'POST', '/workflows/keep/runs', { params: { pad: 'y'.repeat(600 * 1024) } });
      // Under the body limit but too large for one DynamoDB item: a validation error.
      const tooBig = await rejected(400, 'PUT', '/workflows/keep', { ...simple('keep'), description: 'x'.repeat(380 * 1024) });
      expect(tooBig.details).toEqual([{ path: '', message: expect.stringContaining('too large for one item') }]);
    });

    it('answers unknown routes and unknown workflows with 404', async () => {
      const e1 = await rejected(404, 'GET', '/nope');
      expect(e1.code).toBe('not_found');
      await rejected(404, 'DELETE', '/workflows/keep');
      await rejected(404, 'GET', '/workflows/missing');
      await rejected(404, 'GET', '/workflows/keep?version=99');
      await rejected(404, 'POST', '/workflows/missing/runs', {});
      await rejected(404, 'GET', '/runs/rdoesnotexist');
      await rejected(400, 'GET', '/workflows/keep?version=zero');
    });

    it('stores versions: a change makes a new one, the same body does not; GET by version', async () => {
      const v1 = await h.request('PUT', '/workflows/versioned', simple('versioned'));
      expect(v1.status).toBe(201);
      expect(v1.body).toEqual({ name: 'versioned', version: 1, created: true });
      const same = await h.request('PUT', '/workflows/versioned', simple('versioned'));
      expect(same.status).toBe(200);
      expect(same.body).toEqual({ name: 'versioned', version: 1, created: false });
      const changed = simple('versioned', { tasks: { a: { type: 'noop', output: { v: 2 } } } });
      const v2 = await h.request('PUT', '/workflows/versioned', changed);
      expect(v2.status).toBe(201);
      expect(v2.body.version).toBe(2);

      const latest = await h.request('GET', '/workflows/versioned');
      expect(latest.body.version).toBe(2);
      expect(latest.body.definition.tasks.a.config.output).toEqual({ v: 2 });
      const old = await h.request('GET', '/workflows/versioned?version=1');
      expect(old.status).toBe(200);
      expect(old.body.version).toBe(1);
      expect(old.body.definition.tasks.a.config.output).toEqual({ v: 1 });
      // Going back to v1's body is a change too: it becomes version 3.
      const v3 = await h.request('PUT', '/workflows/versioned', simple('versioned'));
      expect(v3.body.version).toBe(3);

      const list = await h.request('GET', '/workflows');
      expect(list.status).toBe(200);
      const names = list.body.workflows.map((w: any) => w.name);
      expect(names).toEqual(expect.arrayContaining(['keep', 'versioned', 'from-yaml']));
      expect(names).not.toContain('broken');
      expect(list.body.workflows.find((w: any) => w.name === 'versioned')).toMatchObject({
        latestVersion: 3,
        description: 'the versioned workflow',
      });
    });

    it('a run pins its version even after a new version is stored; version can be chosen', async () => {
      await h.request('PUT', '/workflows/pin', {
        name: 'pin',
        tasks: { a: { type: 'wait', duration: '1s' }, b: { type: 'noop', after: ['a'], output: 'v1' } },
      });
      const start = await h.request('POST', '/workflows/pin/runs', {});
      expect(start.body.version).toBe(1);
      const v2 = await h.request('PUT', '/workflows/pin', {
        name: 'pin',
        tasks: { a: { type: 'noop' }, b: { type: 'noop', after: ['a'], output: 'v2' }, c: { type: 'noop', after: ['b'] } },
      });
      expect(v2.body.version).toBe(2);
      const run = await h.waitForRun(start.body.runId);
      expect(run.version).toBe(1);
      expect(run.tasks.map((t: any) => t.name)).toEqual(['a', 'b']);
      expect(run.output).toEqual({ b: 'v1' });
      const latest = await h.request('POST', '/workflows/pin/runs', {});
      expect(latest.body.version).toBe(2);
      expect((await h.waitForRun(latest.body.runId)).output).toEqual({ c: null });
      const chosen = await h.request('POST', '/workflows/pin/runs', { version: 1 });
      expect(chosen.status).toBe(201);
      expect(chosen.body.version).toBe(1);
      expect((await h.waitForRun(chosen.body.runId)).output).toEqual({ b: 'v1' });
      await rejected(404, 'POST', '/workflows/pin/runs', { version: 7 });
    });
  });

  describe('starting runs', () => {
    beforeAll(async () => {
      const put = await h.request('PUT', '/workflows/typed', {
        name: 'typed',
        params: {
          day: { type: 'string', required: true },
          count: { type: 'integer', default: 1 },
          opts: { type: 'object' },
        },
        tasks: { a: { type: 'noop', output: '${params.day}' } },
      });
      expect(put.status).toBe(201);
    });

    it('rejects a missing required param, a wrong type and an unknown param, naming each field', async () => {
      const err = await rejected(400, 'POST', '/workflows/typed/runs', { params: { count: 'three', opts: [1], color: 'red' } });
      expect(err.code).toBe('invalid_params');
      expect(err.details).toEqual(
        expect.arrayContaining([
          { path: 'params.day', message: 'required' },
          { path: 'params.count', message: 'expected integer, got string' },
          { path: 'params.opts', message: 'expected object, got array' },
          { path: 'params.color', message: 'unknown param' },
        ]),
      );
      expect(err.details).toHaveLength(4);
      const e2 = await rejected(400, 'POST', '/workflows/typed/runs', { params: { day: 'x', count: 1.5 } });
      expect(e2.details).toEqual([{ path: 'params.count', message: 'expected integer, got number' }]);
      const e3 = await rejected(400, 'POST', '/workflows/typed/runs', { params: 'day=1' });
      expect(e3.details).toEqual([{ path: 'params', message: expect.stringContaining('expected an object') }]);
      const e4 = await rejected(400, 'POST', '/workflows/typed/runs', { params: { day: 'x' }, priority: 'high' });
      expect(e4.details).toEqual([{ path: 'priority', message: 'unknown field' }]);
      await rejected(400, 'POST', '/workflows/typed/runs', [1, 2]);
    });

    it('lists runs newest first, by status, with limit and cursor pagination', async () => {
      await h.request('PUT', '/workflows/listed', {
        name: 'listed',
        params: { ok: { type: 'boolean', default: true } },
        tasks: { a: { type: 'noop' }, b: { type: 'fail', after: ['a'], retryable: '${params.ok}', message: 'no' } },
      });
      // Version 1 always fails (7 runs); version 2 always succeeds (3 runs, the newest).
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await h.request('POST', '/workflows/listed/runs', { params: { ok: i % 2 === 0 } });
        expect(r.status).toBe(201);
        ids.push(r.body.runId);
        await sleep(5); // distinct creation times
      }
      await h.request('PUT', '/workflows/listed', {
        name: 'listed',
        params: { ok: { type: 'boolean', default: true } },
        tasks: { a: { type: 'noop' } },
      });
      for (let i = 0; i < 3; i++) {
        const r = await h.request('POST', '/workflows/listed/runs', {});
        ids.push(r.body.runId);
        await sleep(5);
      }
      await Promise.all(ids.map((id) => h.waitForRun(id)));
      const newestFirst = [...ids].reverse();

      const all = await h.request('GET', '/workflows/listed/runs');
      expect(all.status).toBe(200);
      expect(all.body.runs.map((r: any) => r.runId)).toEqual(newestFirst);
      expect(all.body.cursor).toBeUndefined();
      const createdAt = all.body.runs.map((r: any) => Date.parse(r.createdAt));
      expect([...createdAt].sort((a, b) => b - a)).toEqual(createdAt);
      expect(all.body.runs[0]).toMatchObject({ status: 'succeeded', version: 2, trigger: { type: 'api' } });

      // Pages of 3 walk the same order with no gaps or repeats.
      const paged: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const q = `/workflows/listed/runs?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await h.request('GET', q);
        expect(page.status).toBe(200);
        expect(page.body.runs.length).toBeLessThanOrEqual(3);
        paged.push(...page.body.runs.map((r: any) => r.runId));
        cursor = page.body.cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(paged).toEqual(newestFirst);
      expect(pages).toBeLessThanOrEqual(5);

      const failed = await h.request('GET', '/workflows/listed/runs?status=failed');
      expect(failed.body.runs.map((r: any) => r.runId)).toEqual(newestFirst.filter((_, i) => i >= 3));
      expect(failed.body.runs.every((r: any) => r.status === 'failed')).toBe(true);
      const succeeded = await h.request('GET', '/workflows/listed/runs?status=succeeded&limit=2');
      expect(succeeded.body.runs.map((r: any) => r.runId)).toEqual(newestFirst.slice(0, 2));
      const next = await h.request('GET', `/workflows/listed/runs?status=succeeded&limit=2&cursor=${succeeded.body.cursor}`);
      expect(next.body.runs.map((r: any) => r.runId)).toEqual(newestFirst.slice(2, 3));

      expect((await h.request('GET', '/workflows/nobody/runs')).body).toEqual({ runs: [] });
      await rejected(400, 'GET', '/workflows/listed/runs?limit=0');
      await rejected(400, 'GET', '/workflows/listed/runs?limit=101');
      await rejected(400, 'GET', '/workflows/listed/runs?cursor=not-a-cursor');
      // Well-formed JSON that is not a key of this listing: still the caller's mistake, not a 500.
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      await rejected(400, 'GET', `/workflows/listed/runs?cursor=${b64({ a: 1 })}`);
      await rejected(400, 'GET', `/workflows/listed/runs?cursor=${b64([1, 2])}`);
      // A cursor from another workflow's listing.
      const other = await h.request('GET', '/workflows/typed/runs?limit=1');
      expect(other.status).toBe(200);
      const foreign = b64({ pk: 'RUN#x', sk: 'RUN', wfPk: 'WF#typed', wfSk: '2026-01-01T00:00:00.000Z#x' });
      await rejected(400, 'GET', `/workflows/listed/runs?cursor=${foreign}`);
    });
  });
});
