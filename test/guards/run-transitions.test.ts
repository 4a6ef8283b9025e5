import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import { onChange } from '../../functions/orchestrator/stream.js';
import { listWorkflows, saveDefinition } from '../../functions/store/definitions.js';
import type { RunItem } from '../../functions/store/items.js';
import { getRunClock } from '../../functions/store/run-clock.js';
import { bumpWatchdog, cancelRun, finishRun, getRun, markStarted, recordFailure, runItems } from '../../functions/store/runs.js';
import { Clock, gate, guardDeps, lockstep, pausing, putWorkflow } from './support.js';

/** Run transitions (and definition versions), each from the state it read. */

const clock = new Clock();
let deps: Deps & { dispatched: unknown[] };

beforeAll(async () => {
  deps = await guardDeps(clock);
  // A concurrency policy (never full here) gates its runs' start: they are created queued, the master starts them.
  await putWorkflow(deps, { name: 'w', concurrency: { policy: 'queue', limit: 1000 }, tasks: { a: { type: 'noop' } } });
  await putWorkflow(deps, { name: 'free', tasks: { a: { type: 'noop' } } });
  await putWorkflow(deps, {
    name: 'roots',
    timeout: '1h',
    tasks: { a: { type: 'noop' }, b: { type: 'noop' }, c: { type: 'noop', after: ['a', 'b'] } },
  });
});

const newRun = async () => (await startWorkflow(deps, { workflow: 'w', trigger: { type: 'api' } })).runId;
const run = async (id: string) => (await getRun(deps.db, id)) as RunItem;
const failure = (task: string) => ({ task, reason: 'error' as const, message: task });

describe('run transitions', () => {
  it('a run whose start nothing gates is created running, and no start write applies to it', async () => {
    const id = (await startWorkflow(deps, { workflow: 'free', trigger: { type: 'api' } })).runId;
    const created = await run(id);
    expect(created).toMatchObject({ status: 'running', startedAt: created.createdAt });
    // Due at its creation's claim deadline (or its first watchdog, if sooner): the check of its roots (reconcile.ts checkStart).
    const { leaseMs, watchdogMs } = deps.db.config;
    expect(created.dueAt).toBe(created.createdAt + Math.min(leaseMs, watchdogMs));
    expect(await markStarted(deps.db, id, clock.t + 1)).toBeUndefined();
    expect(await run(id)).toEqual(created);
  });

  it('one creation record of a run created running, delivered to three masters at once: one clock, each root queued once', async () => {
    const id = (await startWorkflow(deps, { workflow: 'roots', trigger: { type: 'api' } })).runId;
    const record = { eventName: 'INSERT', dynamodb: { SequenceNumber: '7', NewImage: marshall(await run(id)) as never } };
    const racers = lockstep(deps, 3);
    await Promise.all(racers.map((d) => onChange(d, record)));
    await onChange(deps, record); // and a late retry
    const tasks = (await runItems(deps.db, id)).filter((i) => i.kind === 'task');
    expect(tasks.map((t) => [t.name, t.status, t.attempt]).sort()).toEqual([
      ['a', 'queued', 1],
      ['b', 'queued', 1],
    ]);
    // Dispatched once each: only the master whose put made the root hands it to a worker.
    const jobs = deps.dispatched.filter((j) => (j as { runId: string }).runId === id).map((j) => (j as { task: string }).task);
    expect(jobs.sort()).toEqual(['a', 'b']);
    expect(await getRunClock(deps.db, id)).toMatchObject({ status: 'armed', countsFrom: clock.t, timeoutAt: clock.t + 3_600_000 });
    expect(await run(id)).toMatchObject({ status: 'running', startedAt: clock.t });
  });

  it('two masters starting one run at once: one does', async () => {
    const id = await newRun();
    const got = await Promise.all([markStarted(deps.db, id, clock.t), markStarted(deps.db, id, clock.t + 1)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a run ends once: succeeded and failed at the same moment leave one of them', async () => {
    const id = await newRun();
    await markStarted(deps.db, id, clock.t);
    const got = await Promise.all([finishRun(deps.db, id, 'succeeded', clock.t), finishRun(deps.db, id, 'failed', clock.t)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a cancelled run does not finish, and a finished run is not cancelled', async () => {
    const a = await newRun();
    expect(await cancelRun(deps.db, a, clock.t, 'stop')).toBeDefined();
    expect(await finishRun(deps.db, a, 'succeeded', clock.t)).toBeUndefined();
    expect((await run(a)).status).toBe('cancelled');
    const b = await newRun();
    expect(await finishRun(deps.db, b, 'succeeded', clock.t)).toBeDefined();
    expect(await cancelRun(deps.db, b, clock.t, 'stop')).toBeUndefined();
    expect((await run(b)).status).toBe('succeeded');
  });

  it('the first failure is kept, and none is recorded on an ended run', async () => {
    const a = await newRun();
    expect(await recordFailure(deps.db, a, failure('first'))).toBeDefined();
    expect(await recordFailure(deps.db, a, failure('second'))).toBeUndefined();
    expect((await run(a)).failure?.task).toBe('first');
    const b = await newRun();
    await finishRun(deps.db, b, 'succeeded', clock.t);
    expect(await recordFailure(deps.db, b, failure('late'))).toBeUndefined();
    expect((await run(b)).failure).toBeUndefined();
  });

  it('a watchdog bump from a stale view (due time or status moved on) is refused', async () => {
    const a = await newRun();
    await markStarted(deps.db, a, clock.t);
    const seen = await run(a);
    expect(await bumpWatchdog(deps.db, seen, clock.t + 5)).toBeDefined();
    expect(await bumpWatchdog(deps.db, seen, clock.t + 9)).toBeUndefined();
    // Same due time, other status: started at the instant that keeps the due time it was created with.
    const b = await newRun();
    const queued = await run(b);
    const started = await markStarted(deps.db, b, (queued.dueAt as number) - deps.db.config.watchdogMs);
    expect(started?.dueAt).toBe(queued.dueAt);
    expect(await bumpWatchdog(deps.db, queued, clock.t)).toBeUndefined();
  });
});

describe('definition versions', () => {
  it('two saves that both read "no version yet" get versions 1 and 2', async () => {
    const [a, b] = lockstep(deps, 2) as [Deps, Deps];
    const def = (d: string) => ({ name: 'versions', description: d, tasks: { a: { type: 'noop' as const } } }) as never;
    const got = await Promise.all([saveDefinition(a.db, def('a'), clock.t), saveDefinition(b.db, def('b'), clock.t)]);
    expect(got.map((g) => g.version).sort()).toEqual([1, 2]);
  });

  it('a slow writer of version 1 does not move the latest version back from 2', async () => {
    const slow = gate();
    // Write 0 is the version item, write 1 the workflow summary: stop before the summary.
    const a = pausing(deps, (i) => (i === 1 ? slow.wait() : undefined));
    const def = (d: string) => ({ name: 'latest', description: d, tasks: { a: { type: 'noop' as const } } }) as never;
    const first = saveDefinition(a.db, def('one'), clock.t);
    await slow.reached;
    expect(await saveDefinition(deps.db, def('two'), clock.t)).toEqual({ version: 2, created: true });
    slow.open();
    expect(await first).toEqual({ version: 1, created: true });
    expect((await listWorkflows(deps.db)).find((w) => w.name === 'latest')?.latestVersion).toBe(2);
  });
});
