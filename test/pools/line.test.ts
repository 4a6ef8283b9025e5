import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';
import { until } from '../support/wait.js';

/**
 * The pool's line over DynamoDB Local and a loopback server: who runs next when a slot is freed, and
 * when a slot is freed. A pool of 1 is held by a call the test lets go of; the waiters join the line one
 * at a time (each is seen in the line before the next starts), so the order they join is known.
 * The pool check (BATON_RECHECK_MS) is left at its default of 5 minutes: anything that happens here
 * within the test's timeout happened because a slot was given back, not because the sweeper looked.
 */
describe('pool line', { timeout: 120_000 }, () => {
  let h: Harness;
  let target: HttpTarget;
  let letGo: (() => void) | undefined;

  beforeAll(async () => {
    [h, target] = await Promise.all([startHarness({ BATON_LEASE_MS: '15000' }), startHttpTarget()]);
    // The holder's call is answered when the test says so.
    target.route('/hold', () => new Promise((r) => (letGo = () => r({ body: { held: true } }))));
    target.route('/hang', () => ({ hang: true }));
    target.route('/run', () => ({ body: { ok: true } }));
  });
  afterAll(async () => {
    await target.close();
    await h.stop();
  });

  async function put(name: string, task: Record<string, unknown>) {
    const r = await h.request('PUT', `/workflows/${name}`, { name, params: { who: { type: 'string', default: '' } }, tasks: { t: task } });
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
  }
  async function start(workflow: string, params?: Record<string, unknown>): Promise<string> {
    const r = await h.request('POST', `/workflows/${workflow}/runs`, params ? { params } : {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.runId;
  }
  const pool = async (name: string) => (await h.request('GET', `/pools/${name}`)).body;
  const holds = (name: string, runId: string) => async () => (await pool(name)).holders.some((x: { runId: string }) => x.runId === runId);
  const waits = (name: string, runId: string) => async () => (await pool(name)).waiting.some((x: { runId: string }) => x.runId === runId);

  it('a pool of 1 wakes its waiters by priority, then in the order they joined the line', async () => {
    await h.request('PUT', '/pools/line', { slots: 1 });
    await put('line-hold', { type: 'http', url: `${target.url}/hold`, pool: 'line' });
    // One workflow per priority; `who` tells the runs apart at the target.
    for (const p of [-3, 0, 5])
      await put(`line-p${p + 3}`, {
        type: 'http',
        method: 'POST',
        url: `${target.url}/run`,
        body: { who: '${params.who}' },
        pool: 'line',
        ...(p !== 0 && { priority: p }),
      });
    const holder = await start('line-hold');
    await until('the holder to hold the pool', holds('line', holder), 60_000);
    await until('the holder to call out', async () => target.received('/hold').length === 1, 60_000);
    // Joining order and priority: a(0) b(5) c(-3) d(0) e(5) → wake order b e a d c.
    const joins: [string, number][] = [
      ['a', 0],
      ['b', 5],
      ['c', -3],
      ['d', 0],
      ['e', 5],
    ];
    const runs: Record<string, string> = {};
    for (const [who, p] of joins) {
      runs[who] = await start(`line-p${p + 3}`, { who });
      await until(`${who} to join the line`, waits('line', runs[who] as string), 60_000);
    }
    const line = (await pool('line')).waiting.map((x: { runId: string }) => Object.keys(runs).find((k) => runs[k] === x.runId));
    expect(line).toEqual(['b', 'e', 'a', 'd', 'c']);
    letGo?.();
    const done = await Promise.all(Object.values(runs).map((id) => h.waitForRun(id, 60_000)));
    expect(done.map((r) => r.status)).toEqual(joins.map(() => 'succeeded'));
    expect(target.received('/run').map((r) => (r.json as { who: string }).who)).toEqual(['b', 'e', 'a', 'd', 'c']);
    expect((await h.waitForRun(holder)).status).toBe('succeeded');
    expect(await pool('line')).toMatchObject({ inUse: 0, holders: [], waiting: [] });
  });

  it('cancelling the run whose task holds the slot frees it at once: the waiter runs (no pool check in between)', async () => {
    await h.request('PUT', '/pools/cancel-line', { slots: 1 });
    await put('cl-hold', { type: 'http', url: `${target.url}/hang`, pool: 'cancel-line' });
    await put('cl-wait', { type: 'http', method: 'POST', url: `${target.url}/run`, body: { who: 'waiter' }, pool: 'cancel-line' });
    const holder = await start('cl-hold');
    await until('the holder to hold the pool', holds('cancel-line', holder), 60_000);
    await until('the holder to call out', async () => target.received('/hang').length === 1, 60_000);
    const waiter = await start('cl-wait');
    await until('the waiter to join the line', waits('cancel-line', waiter), 60_000);
    expect((await h.request('POST', `/runs/${holder}/cancel`, {})).status).toBeLessThan(300);
    // The waiter runs: the slot came back with the cancel, not at the pool check five minutes away.
    expect((await h.waitForRun(waiter, 60_000)).status).toBe('succeeded');
    const cancelled = await h.waitForRun(holder, 60_000);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.tasks[0]).toMatchObject({ status: 'cancelled' });
    expect(await pool('cancel-line')).toMatchObject({ inUse: 0, holders: [], waiting: [] });
  });
});
