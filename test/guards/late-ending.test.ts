import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { advance } from '../../functions/orchestrator/master.js';
import { startRun } from '../../functions/orchestrator/run-start.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import { runAttempt } from '../../functions/orchestrator/worker.js';
import { Db } from '../../functions/store/db.js';
import type { RunItem, TaskItem } from '../../functions/store/items.js';
import { beginRecovery, cancelRun, getRun, pauseRun, recordFailure } from '../../functions/store/runs.js';
import { forgetSinks, resetForRecovery } from '../../functions/store/task-operations.js';
import { addSinkDone, claim, failUnstarted, finishAttempt, getTask, holds, promote, recordDep, skip } from '../../functions/store/tasks.js';
import type { Executor } from '../../functions/tasks/executor.js';
import { noop } from '../../functions/tasks/noop.js';
import { Clock, guardDeps, putWorkflow } from './support.js';

/**
 * The worker's inline advance decides from a run read made before the ending is recorded: one sent
 * concurrently with the write that records the ending (`worker.ts`, `AdvanceOptions.run`; always for
 * a success under `failureStrategy: end`, the default, of a task that another can run beside, as here),
 * or the read that checked the
 * attempt's claim while it is young (test/guards/claim-window.test.ts), so its view of the run may
 * predate a pause, a cancel or a recovery that lands before the ending does. Each test puts one of those between that read and the
 * ending (or, for a recovery, between the ending and the writes of the advance) and checks what the
 * read used to decide when it came after the ending: a paused run's successor is held, not run; a
 * cancelled run's successor's code never runs; a recovery's reset tasks, join item and run refuse the
 * late ending's writes, and a successor it made ready before the reset does not run.
 */

const clock = new Clock();
let deps: Deps;
/** Task names whose executor was called, in order. */
const ran: string[] = [];
const probe: Executor<{ output?: unknown }> = {
  ...noop,
  type: 'probe',
  execute: (ctx) => {
    ran.push(`${ctx.runId}/${ctx.task}`);
    return noop.execute(ctx);
  },
};

beforeAll(async () => {
  deps = await guardDeps(clock);
  deps = { ...deps, executors: { ...deps.executors, probe } };
  // `z` runs beside `a` (a second root): so `a` is not alone (`CompiledWorkflow.alone`), and its success
  // advances from a read sent with its ending, the read these tests race.
  await putWorkflow(deps, { name: 'chain', tasks: { a: { type: 'probe' }, b: { type: 'probe', after: ['a'] }, z: { type: 'noop' } } });
});

/** A started run of `chain`: `z` done, `a` queued, nothing claimed. */
async function chainRun(): Promise<string> {
  const { runId } = await startWorkflow(deps, { workflow: 'chain', trigger: { type: 'api' } });
  await startRun(deps, runId);
  await runAttempt(deps, { runId, task: 'z', attempt: 1 });
  expect(await getTask(deps.db, runId, 'z')).toMatchObject({ status: 'succeeded' });
  return runId;
}

const isRunRead = (cmd: Cmd) => cmd.constructor.name === 'GetCommand' && cmd.input.Key?.sk === 'RUN';
const isWrite = (cmd: Cmd) => ['PutCommand', 'UpdateCommand', 'DeleteCommand'].includes(cmd.constructor.name);
interface Cmd {
  constructor: { name: string };
  input: { Key?: { sk?: string } };
}

/**
 * `deps` through a client that, before sending the `n`th run read, and before sending the `n`th write,
 * awaits the test's hook, and tells when each run read has come back: the test's handle on the worker's
 * round trips.
 */
function instrumented(hooks: { beforeRunRead?: (n: number) => Promise<void> | void; beforeWrite?: (n: number) => Promise<void> | void }) {
  const doc = deps.db.doc;
  let reads = 0;
  let writes = 0;
  const events: string[] = [];
  const returned: Promise<void>[] = [];
  const settle: (() => void)[] = [];
  const readBack = (n: number) => {
    while (returned.length <= n) returned.push(new Promise<void>((r) => settle.push(r)));
    return returned[n] as Promise<void>;
  };
  const proxy = {
    send: async (cmd: Cmd, ...rest: unknown[]) => {
      const send = () => (doc.send as (...a: unknown[]) => Promise<unknown>)(cmd, ...rest);
      if (isRunRead(cmd)) {
        const n = reads++;
        await hooks.beforeRunRead?.(n);
        events.push(`read ${n}`);
        readBack(n);
        const r = await send();
        settle[n]?.();
        return r;
      }
      if (isWrite(cmd)) {
        const n = writes++;
        await hooks.beforeWrite?.(n);
        events.push(`write ${n}`);
      }
      return send();
    },
  } as unknown as DynamoDBDocumentClient;
  return { deps: { ...deps, db: new Db(proxy, deps.db.config) }, runReadBack: readBack, events };
}

/**
 * Runs `a` through the worker, calling `between` after the inline advance's run read came back and
 * before the ending's write is sent. The worker's writes: claim of `a` (0), its ending (1); its run
 * reads: the probe sent with the claim (0), the advance's, sent with the ending (1).
 */
async function workerWithGap(runId: string, between: () => Promise<void>) {
  let back!: (n: number) => Promise<void>;
  const w = instrumented({
    beforeWrite: async (n) => {
      if (n !== 1) return;
      await back(1);
      await between();
    },
  });
  back = w.runReadBack;
  await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
}

describe("the inline advance's run read, sent with the ending", () => {
  it('is sent before the ending, not after it; the successor is started eagerly and runs', async () => {
    const runId = await chainRun();
    const w = instrumented({});
    await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'succeeded', promotedBy: 'worker' });
    expect(ran).toContain(`${runId}/b`);
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'succeeded' });
    // a: [run read (the claim window's probe), claim], [advance's run read, ending], [b's probe, b's eager
    // start], [advance's run read, b's ending], ...
    expect(w.events.slice(0, 8)).toEqual(['read 0', 'write 0', 'read 1', 'write 1', 'read 2', 'write 2', 'read 3', 'write 3']);
  });

  it('a pause between that read and the ending: the successor is claimed, then held, and never runs', async () => {
    const runId = await chainRun();
    await workerWithGap(runId, async () => {
      expect(await pauseRun(deps.db, runId, clock.t)).toBeDefined();
    });
    expect(await getTask(deps.db, runId, 'a')).toMatchObject({ status: 'succeeded' });
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'queued', held: true, attempt: 1 });
    expect(ran).not.toContain(`${runId}/b`);
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'paused' });
  });

  it("a cancel between that read and the ending: the ending is recorded, the successor's code never runs", async () => {
    const runId = await chainRun();
    await workerWithGap(runId, async () => {
      expect(await cancelRun(deps.db, runId, clock.t, 'test')).toBeDefined();
    });
    expect(await getTask(deps.db, runId, 'a')).toMatchObject({ status: 'succeeded' });
    expect(ran).toContain(`${runId}/a`);
    expect(ran).not.toContain(`${runId}/b`);
    const b = await getTask(deps.db, runId, 'b');
    expect(b === undefined || b.status === 'cancelled').toBe(true);
  });

  it('a cancel and a recovery of `a` between that read and the ending: the recovery resets both tasks and nothing of the late ending runs', async () => {
    const runId = await chainRun();
    // The recovery begins before the ending, and resets `a` and `b` only after the advance queued `b`
    // (the worker's writes: claim 0, ending 1, b's eager start 2; its run reads: claim 0, advance 1, b's
    // claim 2, sent with the claim): b's check finds the newer recovery and does not run it.
    const w = instrumented({
      beforeWrite: async (n) => {
        if (n !== 1) return;
        await w.runReadBack(1);
        expect(await cancelRun(deps.db, runId, clock.t, 'test')).toBeDefined();
        expect(await beginRecovery(deps.db, (await getRun(deps.db, runId)) as RunItem, ['a', 'b'], clock.t)).toBeDefined();
      },
    });
    await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
    expect(ran).not.toContain(`${runId}/b`);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'running', eager: true });
    await Promise.all(['a', 'b'].map((t) => resetForRecovery(deps.db, runId, t, 1, [])));
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'blocked', recovered: 1 });
    expect(await getTask(deps.db, runId, 'a')).toMatchObject({ status: 'blocked', recovered: 1 });
    expect((await getRun(deps.db, runId))?.failure).toBeUndefined();
  });
});

/**
 * The late ending's advance, straight at the conditional writes: `a` ended after a recovery began and
 * after that recovery reset what the advance writes to, and the advance decides from a view of the run
 * read before the cancel (`AdvanceOptions.run`).
 */
describe('an advance from a view older than a recovery', () => {
  /** A run of `chain` with `a` claimed, the run read then (the stale view), then cancelled and recovered (`tasks`). */
  async function lateEnding(tasks: string[], before?: (runId: string) => Promise<void>) {
    const runId = await chainRun();
    await before?.(runId);
    const t = (await claim(deps.db, runId, 'a', (await getTask(deps.db, runId, 'a'))?.attempt ?? 1, 'w', clock.t)) as TaskItem;
    const view = (await getRun(deps.db, runId)) as RunItem;
    await cancelRun(deps.db, runId, clock.t, 'test');
    const rec = (await beginRecovery(deps.db, (await getRun(deps.db, runId)) as RunItem, tasks, clock.t)) as RunItem;
    expect(rec).toBeDefined();
    return { runId, t, view, n: rec.recoveries as number };
  }

  it('a failed late ending records no failure on the recovered run and does not skip the successor it reset', async () => {
    const { runId, t, view, n } = await lateEnding(['a', 'b']);
    expect(await resetForRecovery(deps.db, runId, 'b', n, [])).toBeDefined();
    const done = await finishAttempt(
      deps.db,
      t,
      { kind: 'failed', error: { reason: 'error', message: 'late' }, inline: true },
      clock.t,
      holds(t),
    );
    expect(done).toBeDefined(); // `a` itself is not reset yet
    await advance(deps, done as TaskItem, { by: 'worker', run: view });
    expect((await getRun(deps.db, runId))?.failure).toBeUndefined();
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'blocked', recovered: n });
  });

  it('a late success from a view with an earlier recovery does not promote the successor the newer one reset', async () => {
    // Recovery 1 (before the view), then the view, then recovery 2 of `a` and `b`.
    const { runId, t, view, n } = await lateEnding(['a', 'b'], async (id) => {
      await cancelRun(deps.db, id, clock.t, 'first');
      const r1 = await beginRecovery(deps.db, (await getRun(deps.db, id)) as RunItem, ['a', 'b'], clock.t);
      expect(r1).toBeDefined();
      await Promise.all(['a', 'b'].map((x) => resetForRecovery(deps.db, id, x, 1, [])));
      await startRoot(id);
    });
    expect(view.recoveries).toBe(1);
    expect(n).toBe(2);
    expect(await resetForRecovery(deps.db, runId, 'b', n, [])).toBeDefined();
    const done = await finishAttempt(deps.db, t, { kind: 'succeeded', output: 1, inline: true }, clock.t, holds(t));
    expect(done).toBeDefined();
    const took: TaskItem[] = [];
    await advance(deps, done as TaskItem, {
      by: 'worker',
      run: view,
      eager: { owner: 'late', wants: () => true, took: (x) => took.push(x) },
    });
    expect(took).toHaveLength(0);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'blocked', recovered: n });
  });

  it("a sink's late success does not count on the join item the recovery cleared, so the run does not finish", async () => {
    // `a` succeeded; `b` (the sink) is the one running when the run is cancelled and recovered.
    const runId = await chainRun();
    const a = (await claim(deps.db, runId, 'a', 1, 'w', clock.t)) as TaskItem;
    await finishAttempt(deps.db, a, { kind: 'succeeded', output: 1 }, clock.t, holds(a));
    await advance(deps, (await getTask(deps.db, runId, 'a')) as TaskItem);
    const b = (await claim(deps.db, runId, 'b', 1, 'w', clock.t)) as TaskItem;
    expect(b).toBeDefined();
    const view = (await getRun(deps.db, runId)) as RunItem;
    await cancelRun(deps.db, runId, clock.t, 'test');
    const rec = (await beginRecovery(deps.db, (await getRun(deps.db, runId)) as RunItem, ['b'], clock.t)) as RunItem;
    await forgetSinks(deps.db, runId, ['b'], rec.recoveries as number);
    const done = await finishAttempt(deps.db, b, { kind: 'succeeded', output: 2, inline: true }, clock.t, holds(b));
    expect(done).toBeDefined(); // `b` is not reset yet
    await advance(deps, done as TaskItem, { by: 'worker', run: view });
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'running', recoveries: 1 });
  });
});

describe('each write of an advance, on an item a recovery newer than the view reset', () => {
  it('is refused with the older view and accepted with the newer one', async () => {
    const runId = await chainRun();
    await cancelRun(deps.db, runId, clock.t, 'test');
    const rec = (await beginRecovery(deps.db, (await getRun(deps.db, runId)) as RunItem, ['a'], clock.t)) as RunItem;
    expect(rec.recoveries).toBe(1);
    const reset = (name: string) => resetForRecovery(deps.db, runId, name, 1, []);
    const e = { reason: 'error' as const, message: 'x' };
    await Promise.all(['p', 'q', 's', 'f'].map(reset));
    await forgetSinks(deps.db, runId, ['a'], 1);
    expect(await recordDep(deps.db, runId, 'p', 'z', 'succeeded', undefined, 0)).toBeUndefined();
    expect(await promote(deps.db, runId, 'q', clock.t, undefined, { by: 'worker', seen: 0 })).toBeUndefined();
    expect(await skip(deps.db, runId, 's', clock.t, e, false, 0)).toBeUndefined();
    expect(await failUnstarted(deps.db, runId, 'f', clock.t, e, 0)).toBeUndefined();
    expect(await addSinkDone(deps.db, runId, 'a', clock.t, 0)).toBeUndefined();
    expect(await recordFailure(deps.db, runId, { ...e, task: 'a' }, 0)).toBeUndefined();
    expect(await recordDep(deps.db, runId, 'p', 'z', 'succeeded', undefined, 1)).toMatchObject({ doneDeps: new Set(['z']) });
    expect(await promote(deps.db, runId, 'q', clock.t, undefined, { by: 'worker', seen: 1 })).toMatchObject({ status: 'queued' });
    expect(await skip(deps.db, runId, 's', clock.t, e, false, 1)).toMatchObject({ status: 'skipped' });
    expect(await failUnstarted(deps.db, runId, 'f', clock.t, e, 1)).toMatchObject({ status: 'failed' });
    // `z`, the other sink, ended before the recovery and stays counted.
    expect(await addSinkDone(deps.db, runId, 'a', clock.t, 1)).toEqual(new Set(['a', 'z']));
    expect(await recordFailure(deps.db, runId, { ...e, task: 'a' }, 1)).toMatchObject({ failure: { task: 'a' } });
  });
});

/** Queues the root `a` again after a recovery reset it (what `applyRecovery` does). */
async function startRoot(runId: string) {
  const { settleRecovered } = await import('../../functions/orchestrator/master.js');
  const { loadWorkflow } = await import('../../functions/orchestrator/workflows.js');
  const run = (await getRun(deps.db, runId)) as RunItem;
  await settleRecovered(deps, run, await loadWorkflow(deps.db, run.workflow, run.version), 'a');
}
