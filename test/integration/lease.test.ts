import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, type TaskItem } from '../../functions/store/items.js';
import { claim, finishAttempt, getTask, heartbeat, holds, queueNew } from '../../functions/store/tasks.js';
import { type Harness, startHarness } from '../support/harness.js';
import { sleep } from '../support/wait.js';

describe('lease loss and fencing', () => {
  let h: Harness;
  beforeAll(async () => {
    // No periodic sweep: the test decides when the sweeper runs. No worker: the test plays every holder
    // itself (a worker claims before it reads the run, so it would take the attempts the sweeper re-dispatches).
    h = await startHarness({ BATON_LEASE_MS: '3000', BATON_MAX_LOST: '3' }, { roles: { sweeper: false, worker: false } });
  });
  afterAll(() => h.stop());

  it("an expired lease is reclaimed by the sweeper, and the old holder's writes are rejected by its fence", async () => {
    const db = h.runtime.deps.db;
    const runId = `rlease${Date.now()}`;
    const queued = await queueNew(db, runId, 'work', Date.now());
    expect(queued?.status).toBe('queued');
    const zombie = (await claim(db, runId, 'work', 1, 'zombie', Date.now())) as TaskItem;
    expect(zombie).toMatchObject({ status: 'running', owner: 'zombie', fence: 1, attempt: 1 });
    // A second claim of the same attempt (a duplicate delivery) loses.
    expect(await claim(db, runId, 'work', 1, 'duplicate', Date.now())).toBeUndefined();

    // While the lease is live, a sweep leaves it alone.
    const early = await h.runtime.sweepNow();
    expect(early.reclaimed).toBe(0);
    expect((await getTask(db, runId, 'work'))?.status).toBe('running');

    await sleep((zombie.dueAt ?? 0) - Date.now() + 50);
    const report = await h.runtime.sweepNow();
    expect(report.reclaimed).toBe(1);
    const reclaimed = (await getTask(db, runId, 'work')) as TaskItem;
    expect(reclaimed.status).toBe('queued');
    expect(reclaimed.owner).toBeUndefined();
    expect(reclaimed.lost).toBe(1);
    expect(reclaimed.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: 'lost', worker: 'zombie', error: expect.objectContaining({ reason: 'lost' }) }),
    ]);
    // A second sweep does not reclaim it again.
    expect((await h.runtime.sweepNow()).reclaimed).toBe(0);

    // The zombie wakes up: its outcome and its heartbeat are both rejected.
    const now = Date.now();
    expect(await finishAttempt(db, zombie, { kind: 'succeeded', output: { from: 'zombie' } }, now, holds(zombie))).toBeUndefined();
    expect(await heartbeat(db, zombie, now + 1000)).toBeUndefined();

    // A new holder claims the attempt: the fence grows.
    const fresh = (await claim(db, reclaimed.runId, 'work', reclaimed.attempt, 'fresh', Date.now())) as TaskItem;
    expect(fresh).toMatchObject({ status: 'running', owner: 'fresh' });
    expect(fresh.fence).toBeGreaterThan(zombie.fence as number);
    // Still rejected: the item is running again, but under another fence.
    expect(
      await finishAttempt(db, zombie, { kind: 'failed', error: { reason: 'error', message: 'zombie' } }, now, holds(zombie)),
    ).toBeUndefined();
    expect(await heartbeat(db, zombie, now + 1000)).toBeUndefined();
    expect((await getTask(db, runId, 'work'))?.owner).toBe('fresh');

    const done = await finishAttempt(db, fresh, { kind: 'succeeded', output: { from: 'fresh' } }, Date.now(), holds(fresh));
    expect(done).toMatchObject({ status: 'succeeded', output: { from: 'fresh' } });
    const final = (await db.get<TaskItem>(keys.task(runId, 'work'))) as TaskItem;
    expect(final.attempts?.map((a) => [a.status, a.worker])).toEqual([
      ['lost', 'zombie'],
      ['succeeded', 'fresh'],
    ]);
    expect(final.dueAt).toBeUndefined();
  });

  it('a task whose lease is lost too often fails with reason lost', async () => {
    const db = h.runtime.deps.db;
    const runId = `rlost${Date.now()}`;
    await queueNew(db, runId, 'flaky', Date.now());
    for (let i = 1; i <= 3; i++) {
      const t = (await getTask(db, runId, 'flaky')) as TaskItem;
      expect(t.status).toBe('queued');
      const held = (await claim(db, runId, 'flaky', t.attempt, `holder-${i}`, Date.now())) as TaskItem;
      expect(held).toBeDefined();
      await sleep((held.dueAt ?? 0) - Date.now() + 50);
      expect((await h.runtime.sweepNow()).reclaimed).toBe(1);
    }
    const t = (await getTask(db, runId, 'flaky')) as TaskItem;
    expect(t.status).toBe('failed');
    expect(t.error?.reason).toBe('lost');
    expect(t.lost).toBe(3);
    expect(t.dueAt).toBeUndefined();
  });
});
