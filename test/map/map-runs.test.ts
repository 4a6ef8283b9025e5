import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';

/** Whole runs with `type: map` over DynamoDB Local, items calling a local HTTP server on loopback. */
// Generous bounds: the 1,000-item map took 28 s alone and 67-222 s inside `npm test`, depending on
// what ran beside it (the chaos test); a bound is a hang detector here, never a speed assertion.
describe('dynamic map', { timeout: 900_000 }, () => {
  let h: Harness;
  let target: HttpTarget;

  beforeAll(async () => {
    h = await startHarness({ BATON_LEASE_MS: '5000', BATON_RECHECK_MS: '2000' });
    target = await startHttpTarget();
  });
  afterAll(async () => {
    await h.stop();
    await target.close();
  });

  async function run(def: Record<string, unknown>, timeoutMs = 600_000) {
    const name = def.name as string;
    const put = await h.request('PUT', `/workflows/${name}`, def);
    expect([200, 201], JSON.stringify(put.body)).toContain(put.status);
    const start = await h.request('POST', `/workflows/${name}/runs`, {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const r = await h.waitForRun(start.body.runId, timeoutMs);
    const task = (n: string) => r.tasks.find((x: any) => x.name === n);
    return { r, task, runId: start.body.runId as string };
  }

  /** Every item of a map through the paging route. */
  async function pages(runId: string, task: string, limit: number) {
    const all: any[] = [];
    let cursor: string | undefined;
    do {
      const p = await h.request('GET', `/runs/${runId}/tasks/${task}/items?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(p.status, JSON.stringify(p.body)).toBe(200);
      all.push(...p.body.items);
      cursor = p.body.cursor;
    } while (cursor);
    return all;
  }

  it('a map at concurrency 5 (MAP_ITEMS items, default 1,000, as issue 14 asks): never more than 5 calls at once, each item called once, outputs in item order', async () => {
    let active = 0;
    let max = 0;
    // A lone call is held until a second one arrives (or 5 s pass), so that a map that really runs items
    // side by side shows it on any machine, and a serial one cannot (its max stays 1).
    let release: (() => void) | undefined;
    target.route('/item', async (req) => {
      active++;
      max = Math.max(max, active);
      if (active >= 2) release?.();
      else
        await new Promise<void>((r) => {
          release = r;
          setTimeout(r, 5000);
        });
      active--;
      return { body: { got: (req.json as { n: number }).n * 2 } };
    });
    const n = Number(process.env.MAP_ITEMS ?? 1000);
    const { r, task, runId } = await run({
      name: 'map-thousand',
      tasks: {
        list: { type: 'noop', output: { files: Array.from({ length: n }, (_, i) => ({ n: i })) } },
        each: {
          type: 'map',
          after: 'list',
          items: '${tasks.list.output.files}',
          concurrency: 5,
          task: { type: 'http', method: 'POST', url: `${target.url}/item`, body: { n: '${item.n}', at: '${index}' } },
        },
        sum: { type: 'noop', after: 'each', output: { first: '${tasks.each.output[0].got}', last: `\${tasks.each.output[${n - 1}].got}` } },
      },
    });
    expect(r.status, JSON.stringify(r.failure)).toBe('succeeded');
    expect(max).toBeGreaterThan(1);
    expect(max).toBeLessThanOrEqual(5);
    const calls = target.received('/item').map((c) => (c.json as { n: number }).n);
    expect(calls).toHaveLength(n);
    expect(new Set(calls).size).toBe(n);
    expect(task('each').output).toEqual(Array.from({ length: n }, (_, i) => ({ got: i * 2 })));
    expect(task('each').map).toMatchObject({ items: n, concurrency: 5, counts: { succeeded: n, failed: 0, active: 0, notStarted: 0 } });
    expect(task('sum').output).toEqual({ first: 0, last: (n - 1) * 2 });
    const items = await pages(runId, 'each', 300);
    expect(items.map((i) => i.index)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(items.every((i) => i.status === 'succeeded' && i.attempt === 1)).toBe(true);
    expect(items[7]).toMatchObject({ item: { n: 7 }, output: { got: 14 } });
  });

  it('tolerated failures: within the count the map succeeds (failed items are null); past it the map fails with a reason', async () => {
    const def = (tolerated: number) => ({
      name: `map-tolerate-${tolerated}`,
      tasks: {
        each: {
          type: 'map',
          items: [1, 0, 2, 0, 3],
          concurrency: 2,
          failure: { tolerated },
          task: { type: 'noop', output: '${item}' },
        },
      },
    });
    // noop cannot fail: use a fail task chosen by the item through a second map.
    const failing = (tolerated: number) => ({
      name: `map-fail-${tolerated}`,
      tasks: {
        each: {
          type: 'map',
          items: [{ ok: true }, { ok: false }, { ok: true }, { ok: false }],
          concurrency: 2,
          failure: { tolerated },
          task: { type: 'http', url: `${target.url}/maybe`, method: 'POST', body: '${item}' },
        },
      },
    });
    target.route('/maybe', (req) => ((req.json as { ok: boolean }).ok ? { body: { ok: 1 } } : { status: 400, body: 'no' }));
    const ok = await run(failing(2));
    expect(ok.r.status).toBe('succeeded');
    expect(ok.task('each').output).toEqual([{ ok: 1 }, null, { ok: 1 }, null]);
    expect(ok.task('each').map.counts).toMatchObject({ succeeded: 2, failed: 2 });
    const bad = await run(failing(1));
    expect(bad.r.status).toBe('failed');
    expect(bad.task('each')).toMatchObject({ status: 'failed', error: { reason: 'map_items_failed' } });
    expect(bad.task('each').error.message).toContain('http_400');
    const plain = await run(def(0));
    expect(plain.task('each').output).toEqual([1, 0, 2, 0, 3]);
  });

  it('each item retries on its own: a 500 then a 200, two attempts per item', async () => {
    const seen = new Map<string, number>();
    target.route('/flaky', (req) => {
      const k = String((req.json as { i: number }).i);
      seen.set(k, (seen.get(k) ?? 0) + 1);
      return seen.get(k) === 1 ? { status: 500, body: 'again' } : { body: { i: Number(k) } };
    });
    const { r, task, runId } = await run({
      name: 'map-retry',
      tasks: {
        each: {
          type: 'map',
          items: ['a', 'b', 'c', 'd', 'e', 'f'],
          concurrency: 3,
          task: {
            type: 'http',
            method: 'POST',
            url: `${target.url}/flaky`,
            body: { i: '${index}' },
            retry: { attempts: 2, delay: '100ms' },
          },
        },
      },
    });
    expect(r.status).toBe('succeeded');
    expect(task('each').output).toEqual([0, 1, 2, 3, 4, 5].map((i) => ({ i })));
    expect([...seen.values()]).toEqual([2, 2, 2, 2, 2, 2]);
    const items = await pages(runId, 'each', 4);
    expect(items.map((i) => i.attempt)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(items[0].attempts.map((a: any) => a.status)).toEqual(['failed', 'succeeded']);
  });

  it('items that do not render to an array fail the map with reason map_items; an empty array succeeds with []', async () => {
    const { r, task } = await run({
      name: 'map-not-array',
      tasks: {
        list: { type: 'noop', output: { files: 'not a list' } },
        each: { type: 'map', after: 'list', items: '${tasks.list.output.files}', task: { type: 'noop' } },
      },
    });
    expect(r.status).toBe('failed');
    expect(task('each')).toMatchObject({ status: 'failed', error: { reason: 'map_items', message: 'items must be an array, got string' } });
    const empty = await run({ name: 'map-empty', tasks: { each: { type: 'map', items: [], task: { type: 'noop' } } } });
    expect(empty.r.status).toBe('succeeded');
    expect(empty.task('each').output).toEqual([]);
  });

  it('the items route refuses a task that is not a map, and a bad cursor', async () => {
    const { runId } = await run({ name: 'map-route', tasks: { a: { type: 'noop' } } });
    expect((await h.request('GET', `/runs/${runId}/tasks/a/items`)).status).toBe(400);
    expect((await h.request('GET', `/runs/${runId}/tasks/zz/items`)).status).toBe(404);
    const bad = await h.request('GET', `/runs/${runId}/tasks/a/items?cursor=x`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('cursor');
  });
});
