import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { advance } from '../../functions/orchestrator/master.js';
import { armClock, onRunClock, rearmClock } from '../../functions/orchestrator/run-timeout.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import type { RunItem, TaskItem } from '../../functions/store/items.js';
import { getRunClock, markSlaMissed, type RunClockItem, stopRunClock, timeOutRun } from '../../functions/store/run-clock.js';
import { beginRecovery, finishRun, getRun } from '../../functions/store/runs.js';
import { cancelTask, resetForRecovery } from '../../functions/store/task-operations.js';
import { getSinksDone, getTask, queueNew } from '../../functions/store/tasks.js';
import { Clock, guardDeps, lockstep, putWorkflow } from './support.js';

/**
 * The run clock across a recovery: a recovery re-arms the clock once per recovery number (episode), and
 * every write a clock firing makes is guarded by the episode it read, so a firing of the previous
 * episode's clock, read before the re-arm, can neither time out nor mark the recovered run. Each test
 * hands a write a view another caller made stale, or races calls from one view.
 */

const clock = new Clock();
const TIMEOUT = 60_000;
const SLA = 10_000;
let deps: Deps;

beforeAll(async () => {
  deps = await guardDeps(clock);
  await putWorkflow(deps, { name: 'timed', timeout: '60s', sla: '10s', tasks: { a: { type: 'wait', duration: '1h' } } });
});

const run = async (id: string) => (await getRun(deps.db, id)) as RunItem;
const clockOf = async (id: string) => (await getRunClock(deps.db, id)) as RunClockItem;

/** A run of `timed` that started (its clock armed, episode 0), then failed and was recovered once. */
async function recovered(): Promise<{ id: string; stale: RunClockItem; rec: RunItem }> {
  const id = (await startWorkflow(deps, { workflow: 'timed', trigger: { type: 'api' } })).runId;
  const started = await run(id); // created running, at clock.t: nothing gates its start
  expect(started).toMatchObject({ status: 'running', startedAt: clock.t });
  await armClock(deps, started);
  const stale = await clockOf(id);
  const ended = (await finishRun(deps.db, id, 'failed', clock.t + 1)) as RunItem;
  const rec = (await beginRecovery(deps.db, ended, ['a'], clock.t + 2)) as RunItem;
  return { id, stale, rec };
}

describe('the run clock across a recovery', () => {
  it('two re-arms of one recovery at once: one re-arms it, counting from the recovery', async () => {
    const { id, stale, rec } = await recovered();
    expect(stale).toMatchObject({ episode: 0, countsFrom: clock.t, timeoutAt: clock.t + TIMEOUT });
    const racing = lockstep(deps, 2);
    await Promise.all(racing.map((d) => rearmClock(d, rec)));
    expect(await clockOf(id)).toMatchObject({
      status: 'armed',
      episode: 1,
      countsFrom: clock.t + 2,
      timeoutAt: clock.t + 2 + TIMEOUT,
      slaAt: clock.t + 2 + SLA,
      dueAt: clock.t + 2 + SLA,
    });
  });

  it('a re-arm re-driven after the clock moved on in its episode changes nothing; an older episode never comes back', async () => {
    const { id, rec } = await recovered();
    await rearmClock(deps, rec);
    const armed = await clockOf(id);
    const missed = await markSlaMissed(deps.db, armed, clock.t + 2 + SLA);
    expect(missed).toMatchObject({ status: 'sla_missed', episode: 1 });
    await rearmClock(deps, rec); // the recovery's stream record, delivered again
    expect(await clockOf(id)).toMatchObject({ status: 'sla_missed', episode: 1, slaMissedAt: clock.t + 2 + SLA });
    // A second recovery re-arms it again: sla_missed is forgotten, so the next miss is an event of its own.
    const ended = (await finishRun(deps.db, id, 'failed', clock.t + 3)) as RunItem;
    const second = (await beginRecovery(deps.db, ended, ['a'], clock.t + 4)) as RunItem;
    await rearmClock(deps, second);
    const now = await clockOf(id);
    expect(now).toMatchObject({ status: 'armed', episode: 2, countsFrom: clock.t + 4 });
    expect(now.slaMissedAt).toBeUndefined();
    await rearmClock(deps, rec); // the first recovery's record, very late
    expect(await clockOf(id)).toMatchObject({ status: 'armed', episode: 2, countsFrom: clock.t + 4 });
  });

  it("a clock read before the recovery re-armed it cannot time out, mark or stop the recovered run's clock", async () => {
    const { id, stale, rec } = await recovered();
    await rearmClock(deps, rec);
    const late = clock.t + TIMEOUT + 1; // past the first episode's timeout, before the recovered one's
    expect(await timeOutRun(deps.db, id, stale.episode ?? 0, late, 'stale')).toBeUndefined();
    expect(await markSlaMissed(deps.db, stale, late)).toBeUndefined();
    expect(await stopRunClock(deps.db, stale)).toBeUndefined();
    // The whole firing, from the stale view: it finds the run in a later episode and leaves it alone.
    const firing = { ...deps, now: () => late };
    await onRunClock(firing, stale);
    expect(await run(id)).toMatchObject({ status: 'running', recoveries: 1 });
    expect(await clockOf(id)).toMatchObject({ status: 'armed', episode: 1 });
    // The recovered episode's own clock still times the run out.
    const due = { ...deps, now: () => clock.t + 2 + TIMEOUT };
    await onRunClock(due, await clockOf(id));
    expect(await run(id)).toMatchObject({
      status: 'failed',
      failure: { reason: 'timeout', message: `the run exceeded its timeout of ${TIMEOUT} ms` },
    });
    expect(await clockOf(id)).toMatchObject({ status: 'done', episode: 1 });
  });

  it('a clock of an earlier episode that fires before the re-arm re-arms it (the same guarded write)', async () => {
    const { id, stale } = await recovered();
    await onRunClock({ ...deps, now: () => clock.t + TIMEOUT + 1 }, stale);
    expect(await run(id)).toMatchObject({ status: 'running', recoveries: 1 });
    expect(await clockOf(id)).toMatchObject({ status: 'armed', episode: 1, timeoutAt: clock.t + 2 + TIMEOUT });
  });
});

describe('task endings across a recovery', () => {
  it('an ending from before the recovery, handled after it, advances nothing: the recovered run does not finish', async () => {
    const { id } = await recovered();
    await queueNew(deps.db, id, 'a', clock.t);
    const before = (await getTask(deps.db, id, 'a')) as TaskItem;
    // The first episode's stop work cancelled the task; its record is handled only after the recovery.
    const cancelled = (await cancelTask(deps.db, before, clock.t + 1, { reason: 'run_timeout', message: 'late' })) as TaskItem;
    await resetForRecovery(deps.db, id, 'a', 1, []);
    await advance(deps, cancelled);
    expect(await run(id)).toMatchObject({ status: 'running' });
    expect(await getSinksDone(deps.db, id)).toEqual(new Set());
    expect(await getTask(deps.db, id, 'a')).toMatchObject({ status: 'blocked', recovered: 1 });
  });
});
