import { beforeAll, describe, expect, it } from 'vitest';
import { childService } from '../../functions/orchestrator/children.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { schedulerTick } from '../../functions/orchestrator/scheduler.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import type { RunItem, TaskItem } from '../../functions/store/items.js';
import { createChildLink, getRun, listRuns } from '../../functions/store/runs.js';
import { Clock, call, gate, guardDeps, lockstep, pausing, putWorkflow } from './support.js';

/**
 * One run per decision: per sub-workflow attempt, per linkage id, per schedule fire time, per
 * Idempotency-Key. Every racing caller is stopped after its reads and before its first write until all
 * of them have read, so only the conditional put can tell them apart.
 */

const clock = new Clock();
let deps: Deps;
let parent: RunItem;

beforeAll(async () => {
  deps = await guardDeps(clock);
  await putWorkflow(deps, { name: 'kid', tasks: { k: { type: 'noop' } } });
  await putWorkflow(deps, { name: 'parent', tasks: { sub: { type: 'subworkflow', workflow: 'kid' } } });
  const started = await startWorkflow(deps, { workflow: 'parent', trigger: { type: 'api' } });
  parent = (await getRun(deps.db, started.runId)) as RunItem;
});

const attemptOf = (attempt: number) => ({ runId: parent.runId, name: 'sub', attempt }) as TaskItem;
const runsOf = async (workflow: string) => (await listRuns(deps.db, workflow, { limit: 100 })).runs;

describe('one run per schedule fire time', () => {
  it('two ticks that both read the due schedule create one run for its fire time', async () => {
    await putWorkflow(deps, { name: 'cronwf', tasks: { t: { type: 'noop' } } });
    const put = await call(deps, 'PUT', '/workflows/cronwf/schedules/s', { cron: '0 * * * *', timezone: 'UTC' });
    expect(put.status).toBe(201);
    clock.t = Date.parse('2026-01-01T01:00:01Z');
    const [a, b] = lockstep(deps, 2) as [Deps, Deps];
    const reports = await Promise.all([schedulerTick(a), schedulerTick(b)]);
    expect(reports.reduce((n, r) => n + r.created, 0)).toBe(1);
    expect(reports.reduce((n, r) => n + r.existing, 0)).toBe(1);
    const runs = await runsOf('cronwf');
    expect(runs).toHaveLength(1);
    expect(runs[0]?.trigger).toMatchObject({ type: 'schedule', fireTime: '2026-01-01T01:00:00.000Z' });
  });
});

describe('one child per sub-workflow attempt', () => {
  it('eight holders of one attempt that all read "no linkage yet" start one child run and write one linkage', async () => {
    const before = (await runsOf('kid')).length;
    const racers = lockstep(deps, 8);
    const got = await Promise.all(racers.map((d) => childService(d, parent, attemptOf(1)).ensure({ workflow: 'kid', params: {} })));
    expect(new Set(got.map((c) => c.runId)).size).toBe(1);
    expect((await runsOf('kid')).length - before).toBe(1);
    const children = (await call(deps, 'GET', `/runs/${parent.runId}/children`)).body.children as { attempt: number; runId?: string }[];
    expect(children.filter((c) => c.attempt === 1)).toHaveLength(1);
  });

  it('a holder stalled between reading the child run and creating it adopts the run a new holder made meanwhile', async () => {
    // The linkage exists (its writer died before creating the child run); two holders finish its job.
    const childRunId = `orphan${Date.now()}`;
    expect(
      await createChildLink(deps.db, {
        parentRunId: parent.runId,
        task: 'sub',
        attempt: 2,
        childRunId,
        workflow: 'kid',
        createdAt: clock.t,
      }),
    ).toBeDefined();
    const stall = gate();
    const stalled = childService(
      pausing(deps, () => stall.wait()),
      parent,
      attemptOf(2),
    ).ensure({ workflow: 'kid', params: {} });
    await stall.reached;
    const fresh = await childService(deps, parent, attemptOf(2)).ensure({ workflow: 'kid', params: {} });
    expect(fresh.runId).toBe(childRunId);
    // Created running (nothing gates kid's start): the stalled holder must find that run, not make one.
    expect(fresh.status).toBe('running');
    stall.open();
    const late = await stalled;
    expect(late.runId).toBe(childRunId);
    expect(late.status).toBe('running');
    expect((await getRun(deps.db, childRunId))?.status).toBe('running');
  });
});

describe('one run per Idempotency-Key', () => {
  it('eight requests with one key that all read "no run yet" create one run; the others get it back', async () => {
    const racers = lockstep(deps, 8);
    const got = await Promise.all(
      racers.map((d) => startWorkflow(d, { workflow: 'kid', idempotencyKey: 'once', params: {}, trigger: { type: 'api' } })),
    );
    expect(new Set(got.map((s) => s.runId)).size).toBe(1);
    expect(got.filter((s) => s.created)).toHaveLength(1);
  });

  it('a repeat that arrives after the run started gets the started run back, not a fresh one', async () => {
    const first = await startWorkflow(deps, { workflow: 'kid', idempotencyKey: 'later', trigger: { type: 'api' } });
    expect(first.created).toBe(true);
    // Nothing gates kid's start: the run is created running.
    expect((await getRun(deps.db, first.runId))?.status).toBe('running');
    const again = await startWorkflow(deps, { workflow: 'kid', idempotencyKey: 'later', trigger: { type: 'api' } });
    expect(again).toMatchObject({ runId: first.runId, created: false });
    expect((await getRun(deps.db, first.runId))?.status).toBe('running');
  });
});

describe('one run per run id decided by the caller', () => {
  for (const type of ['backfill', 'schedule', 'parent', 'api'] as const) {
    it(`two ${type} starts of one run id that both read "no run yet": one creates it`, async () => {
      const runId = `fixed-${type}-${Date.now()}`;
      const racers = lockstep(deps, 2);
      const got = await Promise.all(racers.map((d) => startWorkflow(d, { workflow: 'kid', runId, trigger: { type } })));
      expect(got.filter((s) => s.created)).toHaveLength(1);
    });
  }
});
