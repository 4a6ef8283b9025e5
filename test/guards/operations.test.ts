import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { recover } from '../../functions/orchestrator/operations/recover.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import { keys, type RunItem, type TaskItem } from '../../functions/store/items.js';
import { beginRecovery, finishRun, getRun, markStarted, pauseRun, resumeRun } from '../../functions/store/runs.js';
import { cancelTask, forgetSinks, hold, markSucceeded, resetForRecovery, unhold } from '../../functions/store/task-operations.js';
import {
  addDoneDep,
  addSinkDone,
  claim,
  finishAttempt,
  getTask,
  holds,
  promote,
  queueNew,
  reclaimLost,
} from '../../functions/store/tasks.js';
import { Clock, guardDeps, lockstep, putWorkflow } from './support.js';

/**
 * The day-2 operations' guards: pause and resume (run and held attempts), and recover (one recovery per
 * request, each task reset and each sink forgotten once per recovery). Each test hands a transition a
 * view another caller made stale, or runs racing calls from one view, so that the condition decides.
 */

const clock = new Clock();
const LEASE = 10_000;
let deps: Deps;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
  await putWorkflow(deps, { name: 'w', tasks: { a: { type: 'noop' }, b: { type: 'noop', after: ['a'] } } });
});

const newRun = async () => (await startWorkflow(deps, { workflow: 'w', trigger: { type: 'api' } })).runId;
const run = async (id: string) => (await getRun(deps.db, id)) as RunItem;
const task = async (id: string, name: string) => (await getTask(deps.db, id, name)) as TaskItem;

async function running(): Promise<string> {
  const id = await newRun();
  await markStarted(deps.db, id, clock.t);
  return id;
}

async function failed(): Promise<RunItem> {
  const id = await running();
  return (await finishRun(deps.db, id, 'failed', clock.t)) as RunItem;
}

/** A claimed attempt (attempt 1, fence 1) of a fresh task of run `id`. */
async function claimed(id: string, owner = 'A'): Promise<TaskItem> {
  const name = `t${++n}`;
  await queueNew(deps.db, id, name, clock.t);
  const c = await claim(deps.db, id, name, 1, owner, clock.t);
  if (!c) throw new Error('claim lost');
  return c;
}

describe('pause and resume', () => {
  it('two pauses of one run at once: one pauses it, and an ended run is not paused', async () => {
    const id = await running();
    const got = await Promise.all([pauseRun(deps.db, id, clock.t), pauseRun(deps.db, id, clock.t + 1)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
    const ended = (await failed()).runId;
    expect(await pauseRun(deps.db, ended, clock.t)).toBeUndefined();
    expect((await run(ended)).status).toBe('failed');
  });

  it('two resumes of one paused run at once: one resumes it, and a run that ended while paused stays ended', async () => {
    const id = await running();
    await pauseRun(deps.db, id, clock.t);
    const got = await Promise.all([resumeRun(deps.db, id), resumeRun(deps.db, id)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
    const other = await running();
    await pauseRun(deps.db, other, clock.t);
    await finishRun(deps.db, other, 'failed', clock.t);
    expect(await resumeRun(deps.db, other)).toBeUndefined();
    expect((await run(other)).status).toBe('failed');
  });

  it("a zombie's hold is refused once a new holder has the attempt: the new holder keeps running", async () => {
    const id = await running();
    const zombie = await claimed(id);
    const later = clock.t + LEASE + 1;
    await reclaimLost(deps.db, zombie, later);
    const holder = (await claim(deps.db, id, zombie.name, 1, 'B', later)) as TaskItem;
    expect(await hold(deps.db, zombie, zombie.attemptStartedAt as number)).toBeUndefined();
    expect(await task(id, zombie.name)).toMatchObject({ status: 'running', owner: 'B', fence: holder.fence });
  });

  it('two releases of one held attempt at once: one queues it again', async () => {
    const id = await running();
    const t = await claimed(id);
    const held = (await hold(deps.db, t, t.attemptStartedAt as number)) as TaskItem;
    expect(held).toMatchObject({ status: 'queued', held: true });
    const got = await Promise.all([unhold(deps.db, held, clock.t + 1), unhold(deps.db, held, clock.t + 2)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a release from a stale view leaves a held attempt that a late dispatch claimed alone', async () => {
    const id = await running();
    const t = await claimed(id);
    const held = (await hold(deps.db, t, t.attemptStartedAt as number)) as TaskItem;
    // A dispatch sent before the hold claims the held attempt (its attempt number still matches).
    const again = (await claim(deps.db, id, t.name, 1, 'late', clock.t)) as TaskItem;
    expect(again).toMatchObject({ status: 'running', held: true });
    expect(await unhold(deps.db, held, clock.t + 5)).toBeUndefined();
    expect(await task(id, t.name)).toMatchObject({ status: 'running', owner: 'late', dueAt: again.dueAt });
  });

  it('a release read during an earlier pause does not free the attempt held by a later one', async () => {
    const id = await running();
    const t = await claimed(id);
    const first = (await hold(deps.db, t, t.attemptStartedAt as number)) as TaskItem;
    // Recovered, queued as attempt 2, claimed and held again: attempt 1's release is stale.
    await resetForRecovery(deps.db, id, t.name, 1, []);
    await promote(deps.db, id, t.name, clock.t);
    const second = (await claim(deps.db, id, t.name, 2, 'B', clock.t)) as TaskItem;
    expect(await hold(deps.db, second, second.attemptStartedAt as number)).toMatchObject({ attempt: 2, held: true });
    expect(await unhold(deps.db, first, clock.t + 5)).toBeUndefined();
    expect(await task(id, t.name)).toMatchObject({ status: 'queued', attempt: 2, held: true });
  });
});

describe('one recovery per request', () => {
  it('two recovers of one failed run that both read it before either wrote: one recovers it, the other gets 409', async () => {
    const r = await failed();
    const racing = lockstep(deps, 2);
    const got = await Promise.allSettled(racing.map((d) => recover(d, r.runId, {})));
    expect(got.filter((g) => g.status === 'fulfilled')).toHaveLength(1);
    const lost = got.find((g) => g.status === 'rejected');
    expect((lost as PromiseRejectedResult).reason).toMatchObject({ statusCode: 409, code: 'run_changed' });
    expect(await run(r.runId)).toMatchObject({ status: 'running', recoveries: 1 });
  });

  it('a recover that read the run before another recovery ran (and failed again) does not start a second one', async () => {
    const stale = await failed();
    expect(await beginRecovery(deps.db, stale, ['a'], clock.t)).toMatchObject({ recoveries: 1 });
    await finishRun(deps.db, stale.runId, 'failed', clock.t);
    expect(await beginRecovery(deps.db, stale, ['a'], clock.t)).toBeUndefined();
    expect(await run(stale.runId)).toMatchObject({ status: 'failed', recoveries: 1 });
  });

  it('a recover of a run that expired after it was read creates nothing', async () => {
    const stale = await failed();
    await deps.db.remove(keys.run(stale.runId));
    expect(await beginRecovery(deps.db, stale, ['a'], clock.t)).toBeUndefined();
    expect(await getRun(deps.db, stale.runId)).toBeUndefined();
  });

  it('a task is reset once per recovery: a re-driven reset leaves the task that moved on alone', async () => {
    const id = await running();
    const name = `r${++n}`;
    const got = await Promise.all([resetForRecovery(deps.db, id, name, 1, []), resetForRecovery(deps.db, id, name, 1, [])]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
    await promote(deps.db, id, name, clock.t);
    await claim(deps.db, id, name, 1, 'A', clock.t);
    expect(await resetForRecovery(deps.db, id, name, 1, [])).toBeUndefined();
    expect(await task(id, name)).toMatchObject({ status: 'running', owner: 'A', recovered: 1 });
    expect(await resetForRecovery(deps.db, id, name, 2, [])).toMatchObject({ status: 'blocked', recovered: 2 });
  });

  it('a sink is forgotten once per recovery: one that finished again stays finished', async () => {
    const id = await running();
    await addSinkDone(deps.db, id, 'b', clock.t);
    expect(await forgetSinks(deps.db, id, ['b'], 1)).toBeDefined();
    expect(await addSinkDone(deps.db, id, 'b', clock.t)).toEqual(new Set(['b']));
    expect(await forgetSinks(deps.db, id, ['b'], 1)).toBeUndefined();
    expect(await addSinkDone(deps.db, id, 'c', clock.t)).toEqual(new Set(['b', 'c']));
  });
});

describe('mark success and cancel from a stale view', () => {
  it('a mark read while the holder ran does not overwrite the outcome the holder recorded since', async () => {
    const id = await running();
    const t = await claimed(id);
    await finishAttempt(deps.db, t, { kind: 'succeeded', output: 'real' }, clock.t, holds(t));
    expect(await markSucceeded(deps.db, t, 'marked', clock.t)).toBeUndefined();
    expect(await task(id, t.name)).toMatchObject({ status: 'succeeded', output: 'real' });
  });

  it('a cancel read while the holder ran does not overwrite the outcome the holder recorded since (same fence)', async () => {
    const id = await running();
    const t = await claimed(id);
    await finishAttempt(deps.db, t, { kind: 'succeeded', output: 'real' }, clock.t, holds(t));
    expect(await cancelTask(deps.db, t, clock.t, { reason: 'cancelled', message: 'c' })).toBeUndefined();
    expect(await task(id, t.name)).toMatchObject({ status: 'succeeded', output: 'real' });
  });

  it("a mark or a cancel read while a lost holder ran does not touch the new holder's attempt", async () => {
    const id = await running();
    const zombie = await claimed(id);
    const later = clock.t + LEASE + 1;
    await reclaimLost(deps.db, zombie, later);
    await claim(deps.db, id, zombie.name, 1, 'B', later);
    expect(await markSucceeded(deps.db, zombie, 'marked', later)).toBeUndefined();
    expect(await cancelTask(deps.db, zombie, later, { reason: 'cancelled', message: 'c' })).toBeUndefined();
    expect(await task(id, zombie.name)).toMatchObject({ status: 'running', owner: 'B', fence: 2 });
  });

  it('a mark read while an attempt was queued does not land on the next attempt a recovery queued (same status, same fence)', async () => {
    const id = await running();
    const name = `q${++n}`;
    const queued = (await queueNew(deps.db, id, name, clock.t)) as TaskItem;
    // A recovery resets the task and it is queued again: attempt 2, still queued, fence never claimed.
    await resetForRecovery(deps.db, id, name, 1, []);
    await promote(deps.db, id, name, clock.t);
    expect(await markSucceeded(deps.db, queued, 'marked', clock.t)).toBeUndefined();
    expect(await task(id, name)).toMatchObject({ status: 'queued', attempt: 2, fence: 0 });
  });

  it('a cancel read before a recovery reset the task does not cancel the recovered task', async () => {
    const id = await running();
    const name = `c${++n}`;
    await addDoneDep(deps.db, id, name, 'x');
    const before = await task(id, name);
    await resetForRecovery(deps.db, id, name, 1, []);
    expect(await cancelTask(deps.db, before, clock.t, { reason: 'cancelled', message: 'c' })).toBeUndefined();
    expect(await task(id, name)).toMatchObject({ status: 'blocked', recovered: 1 });
  });
});
