import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';

/**
 * Recovering a failed map over DynamoDB Local: the new map attempt runs only the items that did not
 * succeed (failed, or never started because the map stopped at its first failure); the items that
 * succeeded keep their output and are not called again.
 */
describe('a recovered map', { timeout: 180_000 }, () => {
  let h: Harness;
  let target: HttpTarget;

  beforeAll(async () => {
    [h, target] = await Promise.all([startHarness({ BATON_LEASE_MS: '10000' }), startHttpTarget()]);
  });
  afterAll(async () => {
    await target.close();
    await h.stop();
  });

  it('runs again only its failed and never-started items; succeeded items keep their output and are not called again', async () => {
    let broken = true;
    // Items 3 and 5 fail (not retried) while the target is broken; every call is recorded by index.
    target.route('/item', (r) => {
      const i = (r.json as { i: number }).i;
      return broken && (i === 3 || i === 5) ? { status: 400, body: 'broken' } : { body: { i } };
    });
    const n = 8;
    const name = 'map-recover';
    const put = await h.request('PUT', `/workflows/${name}`, {
      name,
      tasks: {
        each: {
          type: 'map',
          items: Array.from({ length: n }, (_, i) => i),
          concurrency: 2,
          task: { type: 'http', method: 'POST', url: `${target.url}/item`, body: { i: '${item}' } },
        },
        after: { type: 'noop', after: 'each', output: '${tasks.each.output}' },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const runId = (await h.request('POST', `/workflows/${name}/runs`, {})).body.runId as string;
    const failed = await h.waitForRun(runId, 120_000);
    expect(failed.status).toBe('failed');
    const calls = () => target.received('/item').map((r) => (r.json as { i: number }).i);
    const first = calls();
    // What the first attempt did, from the table: which items succeeded (the rest failed or never started).
    const items1 = (await h.request('GET', `/runs/${runId}/tasks/each/items?attempt=1&limit=100`)).body.items as any[];
    const ok1 = items1.filter((i) => i.status === 'succeeded').map((i) => i.index as number);
    expect(ok1.length).toBeGreaterThan(0);
    expect(ok1.length).toBeLessThan(n);

    broken = false;
    const rec = await h.request('POST', `/runs/${runId}/recover`, undefined);
    expect(rec.status, JSON.stringify(rec.body)).toBe(202);
    const done = await h.waitForRun(runId, 120_000);
    expect(done.status, JSON.stringify(done.failure)).toBe('succeeded');
    const each = done.tasks.find((t: { name: string }) => t.name === 'each');
    expect(each.output).toEqual(Array.from({ length: n }, (_, i) => ({ i })));
    expect(each.map).toMatchObject({ items: n, counts: { succeeded: n, failed: 0, active: 0, notStarted: 0 } });
    expect(done.tasks.find((t: { name: string }) => t.name === 'after').output).toEqual(each.output);
    // The second attempt called exactly the items that had not succeeded, once each.
    const second = calls().slice(first.length);
    const rest = Array.from({ length: n }, (_, i) => i).filter((i) => !ok1.includes(i));
    expect([...second].sort((a, b) => a - b)).toEqual(rest);
    const items2 = (await h.request('GET', `/runs/${runId}/tasks/each/items?attempt=${each.attempt}&limit=100`)).body.items as any[];
    expect(items2.filter((i) => i.carried !== undefined).map((i) => i.index)).toEqual(ok1);
  });
});
