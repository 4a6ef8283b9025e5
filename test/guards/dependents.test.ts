import { beforeAll, describe, expect, it } from 'vitest';
import type { DependencyCriteria } from '../../functions/engine/flow/dependency-match.js';
import { wakeDependents } from '../../functions/orchestrator/dependents.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { addWaiter, listWaiters, removeWaiter } from '../../functions/store/dependents.js';
import { and } from '../../functions/store/expr.js';
import type { RunItem, TaskItem } from '../../functions/store/items.js';
import { claim, finishAttempt, getTask, holds, NOT_WOKEN, queueNew } from '../../functions/store/tasks.js';
import { Clock, guardDeps, lockstep, oneTaskRun } from './support.js';

/**
 * Waiter items of `dependent` tasks and the wake-up a run end gives them: one waiter per attempt, one
 * removal, and one wake (so one dispatch) however many deliveries of the same run end race. Racing
 * callers are driven to their write together (`lockstep`), so the conditional write decides.
 */

const clock = new Clock();
let deps: Deps & { dispatched: unknown[] };
let runId: string;
let n = 0;

const criteria: DependencyCriteria = { workflow: 'up', params: { day: 'd' }, statuses: ['succeeded'] };

/** The end of a run of `up` as the stream hands it to the run-end hook. */
const ended = (params: Record<string, unknown>, status = 'succeeded') =>
  ({ runId: `up${++n}`, workflow: 'up', status, params, createdAt: clock.t, trigger: { type: 'api' } }) as unknown as RunItem;

beforeAll(async () => {
  deps = await guardDeps(clock);
  runId = await oneTaskRun(deps);
});

/** A task whose attempt 1 is running (claimed by A); with `suspend`, suspended and waiting. Its waiter is filed. */
async function waiter(suspend = true): Promise<TaskItem> {
  const name = `d${++n}`;
  await queueNew(deps.db, runId, name, clock.t);
  let t = (await claim(deps.db, runId, name, 1, 'A', clock.t)) as TaskItem;
  expect(await addWaiter(deps.db, { runId, task: name, attempt: 1, criteria, createdAt: clock.t })).toBe(true);
  if (suspend) t = (await finishAttempt(deps.db, t, { kind: 'suspend', at: clock.t + 600_000, state: {} }, clock.t, holds(t))) as TaskItem;
  return t;
}

const mine = async (task: string) => (await listWaiters(deps.db, 'up')).filter((w) => w.runId === runId && w.task === task);

describe('dependent waiters', () => {
  it('eight holders of one attempt filing its waiter at once: one item, one put wins', async () => {
    const w = { runId, task: `f${++n}`, attempt: 1, criteria, createdAt: clock.t };
    const got = await Promise.all(lockstep(deps, 8).map((d) => addWaiter(d.db, w)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await mine(w.task)).toHaveLength(1);
  });

  it('two removals at once: one removes it', async () => {
    const w = { runId, task: `f${++n}`, attempt: 1, criteria, createdAt: clock.t };
    await addWaiter(deps.db, w);
    const got = await Promise.all(lockstep(deps, 2).map((d) => removeWaiter(d.db, w)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await mine(w.task)).toEqual([]);
  });

  it('four deliveries of one run end wake the waiting attempt once: one dispatch', async () => {
    const t = await waiter();
    const before = deps.dispatched.length;
    const run = ended({ day: 'd' });
    await Promise.all(lockstep(deps, 4).map((d) => wakeDependents(d, run)));
    expect(deps.dispatched.length - before).toBe(1);
    expect(await getTask(deps.db, runId, t.name)).toMatchObject({ status: 'queued', attempt: 1 });
  });

  it('a run end that does not satisfy the criteria leaves the attempt waiting', async () => {
    const t = await waiter();
    const before = deps.dispatched.length;
    await wakeDependents(deps, ended({ day: 'other' }));
    await wakeDependents(deps, ended({ day: 'd' }, 'failed'));
    expect(deps.dispatched.length).toBe(before);
    expect(await getTask(deps.db, runId, t.name)).toMatchObject({ status: 'waiting', dueAt: t.dueAt });
    expect(await mine(t.name)).toHaveLength(1);
  });

  it('a run end while the attempt still runs flags it, and its suspension then fails', async () => {
    const t = await waiter(false);
    await wakeDependents(deps, ended({ day: 'd' }));
    expect(await getTask(deps.db, runId, t.name)).toMatchObject({ status: 'running', wakeRequested: true });
    const suspend = { kind: 'suspend', at: clock.t + 600_000, state: {} } as const;
    expect(await finishAttempt(deps.db, t, suspend, clock.t, and(holds(t), NOT_WOKEN))).toBeUndefined();
  });

  it('the waiter of an attempt that is over is removed, and nothing is woken', async () => {
    const t = await waiter(false);
    await finishAttempt(deps.db, t, { kind: 'failed', error: { reason: 'timeout', message: 'x' } }, clock.t, holds(t));
    const before = deps.dispatched.length;
    await wakeDependents(deps, ended({ day: 'd' }));
    expect(deps.dispatched.length).toBe(before);
    expect(await mine(t.name)).toEqual([]);
  });
});
