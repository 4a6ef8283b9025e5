import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import type { RunItem } from '../../functions/store/items.js';
import { armRunClock, getRunClock, markSlaMissed, type RunClockItem, stopRunClock, timeOutRun } from '../../functions/store/run-clock.js';
import { finishRun, getRun, markStarted } from '../../functions/store/runs.js';
import { Clock, guardDeps, lockstep, putWorkflow } from './support.js';

/**
 * A run's clock (timeout and sla): armed once per run, the SLA marked missed once (its stream record is
 * the `sla_missed` event), the run timed out once and never after it ended. Racing firings are driven
 * to their write together (`lockstep`), so the condition decides.
 */

const clock = new Clock();
let deps: Deps;

beforeAll(async () => {
  deps = await guardDeps(clock);
  await putWorkflow(deps, { name: 'w', tasks: { a: { type: 'noop' } } });
});

async function running(): Promise<RunItem> {
  const { runId } = await startWorkflow(deps, { workflow: 'w', trigger: { type: 'api' } });
  await markStarted(deps.db, runId, clock.t);
  return (await getRun(deps.db, runId)) as RunItem;
}

async function armed(at = { timeoutAt: clock.t + 2000, slaAt: clock.t + 1000 }): Promise<RunClockItem> {
  const run = await running();
  await armRunClock(deps.db, run, at, clock.t, clock.t);
  return (await getRunClock(deps.db, run.runId)) as RunClockItem;
}

describe('run clocks', () => {
  it('eight starts of one run arming its clock at once: one arms it (and sets its timer)', async () => {
    const run = await running();
    const got = await Promise.all(
      lockstep(deps, 8).map((d, i) => armRunClock(d.db, run, { timeoutAt: clock.t + 1000 + i }, clock.t, clock.t)),
    );
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getRunClock(deps.db, run.runId)).toMatchObject({ status: 'armed' });
  });

  it('two firings marking the SLA missed from the same view: one marks it (one sla_missed event)', async () => {
    const c = await armed();
    const got = await Promise.all(lockstep(deps, 2).map((d, i) => markSlaMissed(d.db, c, clock.t + 1000 + i)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await getRunClock(deps.db, c.runId)).toMatchObject({ status: 'sla_missed', dueAt: clock.t + 2000 });
  });

  it('a stopped clock is not marked, and two firings stopping one clock from the same view: one stops it', async () => {
    const c = await armed();
    const got = await Promise.all(lockstep(deps, 2).map((d) => stopRunClock(d.db, c)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await markSlaMissed(deps.db, c, clock.t + 1000)).toBeUndefined();
    expect(await getRunClock(deps.db, c.runId)).toMatchObject({ status: 'done' });
  });

  it('two firings timing one run out at once: one fails it; a run that ended first is not timed out', async () => {
    const run = await running();
    const got = await Promise.all(lockstep(deps, 2).map((d, i) => timeOutRun(d.db, run.runId, 0, clock.t + i, 'timeout')));
    expect(got.filter(Boolean)).toHaveLength(1);
    const ended = await running();
    await finishRun(deps.db, ended.runId, 'succeeded', clock.t);
    expect(await timeOutRun(deps.db, ended.runId, 0, clock.t, 'timeout')).toBeUndefined();
    expect(await getRun(deps.db, ended.runId)).toMatchObject({ status: 'succeeded' });
    expect((await getRun(deps.db, ended.runId))?.failure).toBeUndefined();
  });
});
