import { beforeAll, describe, expect, it } from 'vitest';
import { COUNTED_JOIN_FROM } from '../../functions/orchestrator/counted-join.js';
import type { Deps, Job } from '../../functions/orchestrator/deps.js';
import { advance } from '../../functions/orchestrator/master.js';
import { reconcile } from '../../functions/orchestrator/reconcile.js';
import { startRun } from '../../functions/orchestrator/run-start.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import type { TaskItem } from '../../functions/store/items.js';
import { claim, type Ending, finishAttempt, getTask, holds } from '../../functions/store/tasks.js';
import { Clock, guardDeps, putWorkflow } from './support.js';

/**
 * A wide join counts its dependencies' endings (`depCount`) instead of naming them, and decides from
 * the dependency items once the count reaches its width (orchestrator/counted-join.ts). A count is not
 * idempotent: these tests deliver endings twice, at once and out of order, and check that the join is
 * still decided exactly once, never before every dependency has ended, and by the watchdog when the
 * counts were never made.
 */

const WIDTH = COUNTED_JOIN_FROM + 2;
const names = Array.from({ length: WIDTH }, (_, i) => `d${String(i).padStart(2, '0')}`);
const clock = new Clock();
let deps: Deps & { dispatched: unknown[] };

beforeAll(async () => {
  deps = await guardDeps(clock);
  const tasks: Record<string, unknown> = { join: { type: 'noop', after: names } };
  for (const n of names) tasks[n] = { type: 'noop' };
  await putWorkflow(deps, { name: 'wide', tasks });
});

/** A running run whose roots (every dependency) are queued. */
async function newRun(): Promise<string> {
  const { runId } = await startWorkflow(deps, { workflow: 'wide', trigger: { type: 'api' } });
  await startRun(deps, runId);
  return runId;
}

/** Claims and ends one dependency; its terminal item (what its stream record carries). */
async function end(runId: string, name: string, ending: Ending = { kind: 'succeeded', output: null }): Promise<TaskItem> {
  const c = await claim(deps.db, runId, name, 1, 'w', clock.t);
  if (!c) throw new Error(`claim of ${name} lost`);
  const done = await finishAttempt(deps.db, c, ending, clock.t, holds(c));
  if (!done) throw new Error(`end of ${name} lost`);
  return done;
}

/** The advance the master makes for a dependency's own stream record. */
const fromRecord = (t: TaskItem) => advance(deps, t, { by: 'master', countJoins: true });
const joinJobs = (runId: string) => (deps.dispatched as Job[]).filter((j) => j.runId === runId && j.task === 'join');

describe('a counted join', () => {
  it('every ending delivered twice, all at once: the join is queued once, dispatched once', async () => {
    const runId = await newRun();
    const ended = await Promise.all(names.map((n) => end(runId, n)));
    await Promise.all([...ended, ...ended].map(fromRecord));
    const join = await getTask(deps.db, runId, 'join');
    expect(join).toMatchObject({ status: 'queued', attempt: 1 });
    expect(joinJobs(runId)).toHaveLength(1);
    // A late redelivery after the decision changes nothing: the join's item is not even written (a write
    // would be billed, and its stream record would send the master back to a settled task).
    const decided = (await getTask(deps.db, runId, 'join')) as TaskItem;
    await fromRecord(ended[0] as TaskItem);
    expect(await getTask(deps.db, runId, 'join')).toEqual(decided);
    expect(joinJobs(runId)).toHaveLength(1);
  });

  it('a count that redeliveries push to the width before the last dependency ends does not decide', async () => {
    const runId = await newRun();
    const first = await Promise.all(names.slice(0, -1).map((n) => end(runId, n)));
    await Promise.all(first.map(fromRecord));
    await fromRecord(first[0] as TaskItem); // a duplicate: the count reaches the width, one dependency still queued
    const waiting = await getTask(deps.db, runId, 'join');
    expect(waiting).toMatchObject({ status: 'blocked', depCount: WIDTH });
    expect(joinJobs(runId)).toHaveLength(0);
    await fromRecord(await end(runId, names.at(-1) as string));
    expect(await getTask(deps.db, runId, 'join')).toMatchObject({ status: 'queued', attempt: 1 });
    expect(joinJobs(runId)).toHaveLength(1);
  });

  it('a failed dependency skips it under the default rule, naming the first one in its list', async () => {
    const runId = await newRun();
    const failed: Ending = { kind: 'failed', error: { reason: 'error', message: 'x' } };
    const ended = await Promise.all(names.map((n, i) => end(runId, n, i === 5 || i === 9 ? failed : undefined)));
    await Promise.all(ended.map(fromRecord));
    expect(await getTask(deps.db, runId, 'join')).toMatchObject({
      status: 'skipped',
      upstreamFailed: true,
      error: { reason: 'upstream', message: 'upstream task d05 failed' },
    });
    expect(joinJobs(runId)).toHaveLength(0);
  });

  it('endings counted at the same moment in one process go in fewer writes, each counted, the join decided once', async () => {
    const runId = await newRun();
    const ended = await Promise.all(names.map((n) => end(runId, n)));
    const db = deps.db as { update: Deps['db']['update'] };
    const real = db.update;
    let countWrites = 0;
    db.update = function (this: unknown, key, spec, condition) {
      if (key.sk.endsWith('#join') && spec.add?.depCount !== undefined) countWrites++;
      return real.call(deps.db, key, spec, condition);
    } as Deps['db']['update'];
    try {
      await Promise.all(ended.map(fromRecord));
    } finally {
      db.update = real;
    }
    expect(countWrites).toBeGreaterThan(0);
    expect(countWrites).toBeLessThan(WIDTH);
    // Every ending is in the count, and the one that reached the width decided (one queue, one dispatch).
    expect(await getTask(deps.db, runId, 'join')).toMatchObject({ status: 'queued', attempt: 1, depCount: WIDTH });
    expect(joinJobs(runId)).toHaveLength(1);
  });

  it('the inline advance leaves it to the records; if they are lost, the watchdog decides it once', async () => {
    const runId = await newRun();
    const ended = await Promise.all(names.map((n) => end(runId, n)));
    await Promise.all(ended.map((t) => advance(deps, t, { by: 'worker' })));
    expect(await getTask(deps.db, runId, 'join')).toBeUndefined();
    await Promise.all([reconcile(deps, runId), reconcile(deps, runId)]);
    expect(await getTask(deps.db, runId, 'join')).toMatchObject({ status: 'queued', attempt: 1 });
    expect(joinJobs(runId)).toHaveLength(1);
  });
});
