import { beforeAll, describe, expect, it } from 'vitest';
import { hashToken, mintCallbackToken } from '../../functions/orchestrator/callback-token.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { recordCallback, wakeForExecution } from '../../functions/store/callbacks.js';
import type { TaskItem } from '../../functions/store/items.js';
import { claim, finishAttempt, getTask, holds, queueNew, wake } from '../../functions/store/tasks.js';
import { Clock, guardDeps, oneTaskRun } from './support.js';

/**
 * The callback-token check and the Step Functions wake-up: a waiting attempt is woken only by the
 * token (or execution) its current state names, once, and only while it waits. Each test hands the
 * store a view that went stale between the caller's read and its write.
 */

const clock = new Clock();
let deps: Deps;
let runId: string;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
  runId = await oneTaskRun(deps);
});

/** A task whose attempt 1 is suspended with `state`; returns the waiting view. */
async function suspended(state: Record<string, unknown>, name = `t${++n}`): Promise<TaskItem> {
  await queueNew(deps.db, runId, name, clock.t);
  const t = (await claim(deps.db, runId, name, 1, 'A', clock.t)) as TaskItem;
  return (await finishAttempt(deps.db, t, { kind: 'suspend', at: clock.t + 60_000, state }, clock.t, holds(t))) as TaskItem;
}

/** Resumes a waiting attempt and suspends it again (same attempt) with `state`. */
async function resuspend(t: TaskItem, state: Record<string, unknown>): Promise<TaskItem> {
  await wake(deps.db, t, clock.t);
  const c = (await claim(deps.db, runId, t.name, t.attempt, 'B', clock.t)) as TaskItem;
  return (await finishAttempt(deps.db, c, { kind: 'suspend', at: clock.t + 60_000, state }, clock.t, holds(c))) as TaskItem;
}

const result = { output: { ok: true }, at: 0 };

describe('callback tokens', () => {
  it('two callbacks with the one token at once: one is recorded', async () => {
    const { tokenHash } = mintCallbackToken(runId, 'x', 1);
    const t = await suspended({ tokenHash });
    const got = await Promise.all([
      recordCallback(deps.db, t, tokenHash, result, clock.t),
      recordCallback(deps.db, t, tokenHash, { output: 2, at: 0 }, clock.t),
    ]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a token the attempt no longer waits for (it re-invoked with a new one) is refused', async () => {
    const old = mintCallbackToken(runId, 'x', 1);
    const seen = await suspended({ tokenHash: old.tokenHash });
    await resuspend(seen, { tokenHash: hashToken(mintCallbackToken(runId, 'x', 1).token) });
    expect(await recordCallback(deps.db, seen, old.tokenHash, result, clock.t)).toBeUndefined();
    expect((await getTask(deps.db, runId, seen.name))?.status).toBe('waiting');
  });

  it('an attempt that already holds a callback takes no second one', async () => {
    const { tokenHash } = mintCallbackToken(runId, 'x', 1);
    const t = await suspended({ tokenHash, callback: { output: 'first', at: 0 } });
    expect(await recordCallback(deps.db, t, tokenHash, result, clock.t)).toBeUndefined();
  });

  it('a callback that arrives after the wait timed out and a new holder resumed the attempt is refused: the holder keeps it', async () => {
    const { tokenHash } = mintCallbackToken(runId, 'x', 1);
    const seen = await suspended({ tokenHash });
    // The wait's deadline passed: the sweeper wakes the attempt (same attempt, state kept) and B claims it.
    await wake(deps.db, seen, clock.t);
    await claim(deps.db, runId, seen.name, 1, 'B', clock.t);
    expect(await recordCallback(deps.db, seen, tokenHash, result, clock.t)).toBeUndefined();
    expect(await getTask(deps.db, runId, seen.name)).toMatchObject({ status: 'running', owner: 'B', state: { tokenHash } });
  });

  it('a callback for an attempt that moved on is refused, even with the same token hash', async () => {
    const { tokenHash } = mintCallbackToken(runId, 'x', 1);
    const seen = await suspended({ tokenHash });
    await wake(deps.db, seen, clock.t);
    const c = (await claim(deps.db, runId, seen.name, 1, 'B', clock.t)) as TaskItem;
    const retried = (await finishAttempt(
      deps.db,
      c,
      { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t },
      clock.t,
      holds(c),
    )) as TaskItem;
    await wake(deps.db, retried, clock.t);
    const second = (await claim(deps.db, runId, seen.name, 2, 'C', clock.t)) as TaskItem;
    await finishAttempt(deps.db, second, { kind: 'suspend', at: clock.t + 60_000, state: { tokenHash } }, clock.t, holds(second));
    expect(await recordCallback(deps.db, seen, tokenHash, result, clock.t)).toBeUndefined();
    expect(await getTask(deps.db, runId, seen.name)).toMatchObject({ status: 'waiting', attempt: 2 });
  });
});

describe('Step Functions wake-ups', () => {
  it('an event for another execution than the one the attempt waits for changes nothing', async () => {
    const seen = await suspended({ executionArn: 'arn:old' });
    await resuspend(seen, { executionArn: 'arn:new' });
    expect(await wakeForExecution(deps.db, seen, 'arn:old', clock.t)).toBeUndefined();
    expect(await wakeForExecution(deps.db, { ...seen, state: { executionArn: 'arn:new' } }, 'arn:old', clock.t)).toBeUndefined();
  });

  it('an event that arrives after the wait timed out and a new holder resumed the attempt is refused: the holder keeps it', async () => {
    const seen = await suspended({ executionArn: 'arn:t' });
    await wake(deps.db, seen, clock.t);
    await claim(deps.db, runId, seen.name, 1, 'B', clock.t);
    expect(await wakeForExecution(deps.db, seen, 'arn:t', clock.t)).toBeUndefined();
    expect(await getTask(deps.db, runId, seen.name)).toMatchObject({ status: 'running', owner: 'B' });
  });

  it('two events for one execution at once: one wakes the attempt', async () => {
    const t = await suspended({ executionArn: 'arn:x' });
    const got = await Promise.all([wakeForExecution(deps.db, t, 'arn:x', clock.t), wakeForExecution(deps.db, t, 'arn:x', clock.t)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('an event for an attempt that moved on is refused, even naming the same execution', async () => {
    const seen = await suspended({ executionArn: 'arn:y' });
    await wake(deps.db, seen, clock.t);
    const c = (await claim(deps.db, runId, seen.name, 1, 'B', clock.t)) as TaskItem;
    const retried = (await finishAttempt(
      deps.db,
      c,
      { kind: 'retry', error: { reason: 'error', message: 'y' }, at: clock.t },
      clock.t,
      holds(c),
    )) as TaskItem;
    await wake(deps.db, retried, clock.t);
    const second = (await claim(deps.db, runId, seen.name, 2, 'C', clock.t)) as TaskItem;
    await finishAttempt(
      deps.db,
      second,
      { kind: 'suspend', at: clock.t + 60_000, state: { executionArn: 'arn:y' } },
      clock.t,
      holds(second),
    );
    expect(await wakeForExecution(deps.db, seen, 'arn:y', clock.t)).toBeUndefined();
  });
});
