import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';

/**
 * Pools over DynamoDB Local and a real loopback server: the server counts the calls in flight, so
 * "at most N at once" is measured where the work happens, not inferred from the table.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pools', { timeout: 240_000 }, () => {
  let h: Harness;
  let target: HttpTarget;
  let active = 0;
  let maxActive = 0;
  let holdAlone = false;
  const order: string[] = [];

  beforeAll(async () => {
    // Leases long enough that a loaded machine does not lose them mid-call (lost leases have their own tests).
    [h, target] = await Promise.all([startHarness({ BATON_LEASE_MS: '15000' }), startHttpTarget()]);
    target.route('/work', async (r) => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(String(r.headers['idempotency-key']));
      const ms = Number(r.json && (r.json as { ms?: number }).ms) || 150;
      // A call that finds itself alone is held until another arrives (or 5 s pass, which the pool
      // test's third call would beat if the pool let it in): concurrency up to the pool's size is then
      // reached whatever the machine's speed, so "at most 2" is measured at 2, not at a slow box's 1.
      if (holdAlone && active === 1) for (let i = 0; i < 500 && active < 2; i++) await sleep(10);
      await sleep(ms);
      active--;
      return { status: 200, body: { ok: true } };
    });
  });
  afterAll(async () => {
    await target.close();
    await h.stop();
  });

  const call = (extra: Record<string, unknown> = {}, ms = 150) => ({
    type: 'http',
    method: 'POST',
    url: `${target.url}/work`,
    body: { ms },
    ...extra,
  });

  async function start(workflow: string): Promise<string> {
    const r = await h.request('POST', `/workflows/${workflow}/runs`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.runId;
  }

  async function put(name: string, tasks: Record<string, unknown>) {
    const r = await h.request('PUT', `/workflows/${name}`, { name, tasks });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }

  it('PUT, GET and list pools; bad input is a 400 naming the field and stores nothing', async () => {
    expect((await h.request('PUT', '/pools/api-pool', { slots: 3 })).body).toMatchObject({ name: 'api-pool', slots: 3, inUse: 0 });
    expect((await h.request('PUT', '/pools/api-pool', { slots: 4 })).body).toMatchObject({ slots: 4, inUse: 0, waiting: [] });
    expect((await h.request('GET', '/pools/api-pool')).body).toMatchObject({ slots: 4, inUse: 0, waitingCount: 0, holders: [] });
    const list = await h.request('GET', '/pools');
    expect(list.body.pools.map((p: { name: string }) => p.name)).toContain('api-pool');
    const bad = await h.request('PUT', '/pools/bad-slots', { slots: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: 'slots', message: 'must be at least 1' }]);
    const extra = await h.request('PUT', '/pools/bad-slots', { slots: 1, size: 2 });
    expect(extra.status).toBe(400);
    expect(extra.body.error.details[0].path).toBe('size');
    expect((await h.request('PUT', '/pools/9bad', { slots: 1 })).status).toBe(400);
    expect((await h.request('GET', '/pools/bad-slots')).status).toBe(404);
  });

  it('validation names the pool fields with their paths', async () => {
    const r = await h.request('PUT', '/workflows/pool-bad', {
      tasks: { a: { type: 'noop', pool: 'no spaces', poolSlots: 0, priority: 5000 }, b: { type: 'noop', poolSlots: 2 } },
    });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['tasks.a.pool', 'tasks.a.poolSlots', 'tasks.a.priority', 'tasks.b.poolSlots']);
  });

  it('a pool of 2 shared by two workflows: never more than 2 calls at once, and no slot left held', async () => {
    await h.request('PUT', '/pools/shared', { slots: 2 });
    const tasks = (p: string) => Object.fromEntries(['a', 'b', 'c'].map((n) => [`${p}${n}`, call({ pool: 'shared' })]));
    await put('pool-one', tasks('x'));
    await put('pool-two', tasks('y'));
    maxActive = 0;
    holdAlone = true;
    const runs = await Promise.all([start('pool-one'), start('pool-two')]);
    const done = await Promise.all(runs.map((id) => h.waitForRun(id, 120_000)));
    expect(done.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(target.received('/work')).toHaveLength(6);
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(maxActive).toBe(2); // the pool was used to its size: the bound above is not vacuous
    holdAlone = false;
    const pool = (await h.request('GET', '/pools/shared')).body;
    expect(pool).toMatchObject({ inUse: 0, holders: [], waiting: [] });
  });

  it('a task naming an unknown pool fails with reason pool_unknown; one asking for more than the pool has, pool_too_small', async () => {
    await h.request('PUT', '/pools/tiny', { slots: 1 });
    await put('pool-unknown', { t: { type: 'noop', pool: 'nowhere' } });
    await put('pool-big', { t: { type: 'noop', pool: 'tiny', poolSlots: 2 } });
    const [a, b] = await Promise.all([h.waitForRun(await start('pool-unknown')), h.waitForRun(await start('pool-big'))]);
    expect(a.status).toBe('failed');
    expect(a.tasks[0].error).toMatchObject({ reason: 'pool_unknown' });
    expect(b.tasks[0].error).toMatchObject({ reason: 'pool_too_small' });
  });
});
