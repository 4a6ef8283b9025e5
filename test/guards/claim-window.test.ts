import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { pause } from '../../functions/orchestrator/operations/pause.js';
import { recover } from '../../functions/orchestrator/operations/recover.js';
import { startRun } from '../../functions/orchestrator/run-start.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import { onChange } from '../../functions/orchestrator/stream.js';
import { fireDue } from '../../functions/orchestrator/sweeper.js';
import { runAttempt } from '../../functions/orchestrator/worker.js';
import { Db } from '../../functions/store/db.js';
import { keys, type RunItem } from '../../functions/store/items.js';
import { beginRecovery, cancelRun, getRun, pauseRun } from '../../functions/store/runs.js';
import { getTask } from '../../functions/store/tasks.js';
import type { Executor, Outcome } from '../../functions/tasks/executor.js';
import { noop } from '../../functions/tasks/noop.js';
import { Clock, guardDeps, putWorkflow } from './support.js';

/**
 * The claim window (`orchestrator/claim-window.ts`): a held attempt's run read (the probe) goes out with
 * the write that claims it, and stands for a read after the claim only if it shows the run running and
 * both answers came back within W/2. Each test puts a pause or a cancel between the probe and the claim
 * (through a client that holds the claiming write until the probe is back) and checks the other side of
 * the argument: the W/2 bound on the worker, the pause that answers W after its write, and the second
 * stopWork pass of a cancelled run, W after the master saw its end.
 */

const clock = new Clock();
/** Task names whose executor was called, and those whose executor was aborted. */
const ran: string[] = [];
const aborted: string[] = [];
let blockerStarted: (() => void) | undefined;
const probe: Executor<{ output?: unknown }> = {
  ...noop,
  type: 'probe',
  execute: (ctx) => {
    ran.push(`${ctx.runId}/${ctx.task}`);
    return noop.execute(ctx);
  },
};
/** Runs until aborted (or 8 s, then succeeds). */
const blocker: Executor<{ output?: unknown }> = {
  ...noop,
  type: 'blocker',
  execute: (ctx) =>
    new Promise<Outcome>((done) => {
      ran.push(`${ctx.runId}/${ctx.task}`);
      const t = setTimeout(() => done({ status: 'succeeded', output: 'ran to its end' }), 8000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        aborted.push(`${ctx.runId}/${ctx.task}`);
        done({ status: 'failed', reason: 'error', message: 'aborted' });
      });
      blockerStarted?.();
    }),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function depsWith(env: Record<string, string>): Promise<Deps> {
  const d = await guardDeps(clock, env);
  const deps = { ...d, executors: { ...d.executors, probe, blocker } };
  // `continue`: a success's advance may decide from its claim's read (under `end` it reads the run with the ending).
  const failureStrategy = 'continue';
  await putWorkflow(deps, { name: 'chain', failureStrategy, tasks: { a: { type: 'probe' }, b: { type: 'probe', after: ['a'] } } });
  await putWorkflow(deps, { name: 'stop', failureStrategy, tasks: { a: { type: 'probe' }, b: { type: 'blocker', after: ['a'] } } });
  // `c`: a root beside the chain, so that a recovery can name a set that leaves `b` out.
  const side = { a: { type: 'probe' }, b: { type: 'blocker', after: ['a'] }, c: { type: 'probe' } };
  await putWorkflow(deps, { name: 'side', failureStrategy, tasks: side });
  return deps;
}

async function started(deps: Deps, workflow: string): Promise<string> {
  const { runId } = await startWorkflow(deps, { workflow, trigger: { type: 'api' } });
  await startRun(deps, runId);
  return runId;
}

interface Cmd {
  constructor: { name: string };
  input: { Key?: { sk?: string } };
}
const isRunRead = (cmd: Cmd) => cmd.constructor.name === 'GetCommand' && cmd.input.Key?.sk === 'RUN';
const isWrite = (cmd: Cmd) => ['PutCommand', 'UpdateCommand', 'DeleteCommand'].includes(cmd.constructor.name);

/**
 * `deps` through a client that awaits the test's hook before sending the `n`th write, and tells when
 * each run read has come back and when each write has. The worker's writes in a chain a → b: a's claim
 * (0), a's ending (1), b's queue-and-claim (2); its run reads: a's probe, sent just before a's claim (0), b's probe (1), sent
 * just before write 2.
 */
function instrumented(deps: Deps, hooks: { beforeWrite?: (n: number) => Promise<void> | void; afterWrite?: (n: number) => void }) {
  const doc = deps.db.doc;
  let reads = 0;
  let writes = 0;
  const events: string[] = [];
  const returned: Promise<void>[] = [];
  const settle: (() => void)[] = [];
  const runReadBack = (n: number) => {
    while (returned.length <= n) returned.push(new Promise<void>((r) => settle.push(r)));
    return returned[n] as Promise<void>;
  };
  const proxy = {
    send: async (cmd: Cmd, ...rest: unknown[]) => {
      const send = () => (doc.send as (...a: unknown[]) => Promise<unknown>)(cmd, ...rest);
      if (isRunRead(cmd)) {
        const n = reads++;
        events.push(`read ${n}`);
        runReadBack(n);
        const r = await send();
        settle[n]?.();
        return r;
      }
      if (isWrite(cmd)) {
        const n = writes++;
        await hooks.beforeWrite?.(n);
        events.push(`write ${n}`);
        try {
          return await send();
        } finally {
          hooks.afterWrite?.(n);
        }
      }
      return send();
    },
  } as unknown as DynamoDBDocumentClient;
  return { deps: { ...deps, db: new Db(proxy, deps.db.config) }, runReadBack, events };
}

/**
 * Runs `a` through the worker with a pause made once run read `read` (the probe) is back and before
 * write `write` (the claim) is sent; the claim goes out W/2 + 20 ms later, so that its answer comes after
 * t0 + W/2. Returns the worker's client events.
 */
async function lateClaimAfterPause(deps: Deps, runId: string, at: { write: number; read: number }, W: number) {
  const w = instrumented(deps, {
    beforeWrite: async (n) => {
      if (n !== at.write) return;
      await w.runReadBack(at.read); // the probe landed, showing the run running
      expect(await pauseRun(deps.db, runId, clock.t)).toBeDefined();
      await sleep(W / 2 + 20); // the claim lands after the pause, and answers after t0 + W/2
    },
  });
  await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
  return w.events;
}

/**
 * Runs `a` through the worker with a pause (the operation, which answers W after its write) made once
 * run read `read` is back and before write `write` is sent; that write goes out W/4 after the pause's
 * write was acknowledged, well within W/2 of the probe. Returns whether it was in the table when the
 * pause returned.
 */
async function pauseRacingClaim(deps: Deps, runId: string, at: { write: number; read: number }, W: number) {
  // The pause goes through its own client, which tells when its write was acknowledged.
  let acked!: () => void;
  const pauseAcked = new Promise<void>((r) => {
    acked = r;
  });
  const api = instrumented(deps, { afterWrite: () => acked() }).deps;
  let claimIn = false;
  let claimInAtReturn: boolean | undefined;
  let paused: Promise<void> | undefined;
  const w = instrumented(deps, {
    beforeWrite: async (n) => {
      if (n !== at.write) return;
      await w.runReadBack(at.read);
      paused = pause(api, runId).then(() => {
        claimInAtReturn = claimIn;
      });
      await pauseAcked;
      await sleep(W / 4);
    },
    afterWrite: (n) => {
      if (n === at.write) claimIn = true;
    },
  });
  await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
  await paused;
  return claimInAtReturn;
}

describe('the claim window, W = 200 ms', () => {
  const W = 200;
  let deps: Deps;
  beforeAll(async () => {
    deps = await depsWith({ BATON_CLAIM_WINDOW_MS: String(W) });
  });

  it('with nothing in between, the held attempt runs on its probe: no read after its claim, its lease marked windowed', async () => {
    const runId = await started(deps, 'chain');
    const w = instrumented(deps, {});
    await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
    expect(ran).toContain(`${runId}/b`);
    const b = await getTask(deps.db, runId, 'b');
    expect(b).toMatchObject({ status: 'succeeded', eager: true });
    // Unless this machine took W/2 for two requests (then b read the run after its claim: still correct).
    if (w.events.filter((e) => e.startsWith('read')).length === 3) {
      // a (dispatched): probe, claim, ending (its view is its probe); b (held): probe, claim, ending; the run's finish reads it.
      expect(w.events.slice(0, 7)).toEqual(['read 0', 'write 0', 'write 1', 'read 1', 'write 2', 'write 3', 'read 2']);
      expect(b?.attempts?.[0]).toMatchObject({ windowed: true });
      expect((await getTask(deps.db, runId, 'a'))?.attempts?.[0]).toMatchObject({ windowed: true });
    }
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'succeeded' });
  });

  it('a pause before the probe: the probe shows it and the claim is held, with no further read', async () => {
    const runId = await started(deps, 'chain');
    const w = instrumented(deps, {
      beforeWrite: async (n) => {
        if (n === 1) expect(await pauseRun(deps.db, runId, clock.t)).toBeDefined();
      },
    });
    await runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'queued', held: true });
    expect(ran).not.toContain(`${runId}/b`);
    expect(w.events.filter((e) => e.startsWith('read'))).toHaveLength(2);
  });

  it('a pause between the probe and a claim whose answer comes after W/2: the worker reads the run again and holds it', async () => {
    const runId = await started(deps, 'chain');
    await lateClaimAfterPause(deps, runId, { write: 2, read: 1 }, W);
    expect(ran).not.toContain(`${runId}/b`);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'queued', held: true, attempt: 1 });
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'paused' });
  });

  it('a pause between the probe and the claim answers only once that claim is in the table (it counts as running at the pause)', async () => {
    const runId = await started(deps, 'chain');
    expect(await pauseRacingClaim(deps, runId, { write: 2, read: 1 }, W)).toBe(true);
    // b ran (claimed before the pause answered: running at the pause, and as the last task its ending
    // finishes the paused run) or, on a slow machine, was held.
    const b = await getTask(deps.db, runId, 'b');
    const status = (await getRun(deps.db, runId))?.status;
    expect((b?.status === 'succeeded' && status === 'succeeded') || (b?.status === 'queued' && b.held && status === 'paused')).toBe(true);
  });

  describe('for a dispatched claim', () => {
    // A dispatched attempt's probe goes out right before its claim (write 0 here); a cancel is no race for
    // it: the task is in the table, queued, before the claim, so the cancel's first stop pass takes it.

    it('a pause between the probe and a claim whose answer comes after W/2: the worker reads the run again and holds it', async () => {
      const runId = await started(deps, 'chain');
      const events = await lateClaimAfterPause(deps, runId, { write: 0, read: 0 }, W);
      expect(ran).not.toContain(`${runId}/a`);
      expect(await getTask(deps.db, runId, 'a')).toMatchObject({ status: 'queued', held: true, attempt: 1 });
      expect(events.filter((e) => e.startsWith('read'))).toHaveLength(2); // the probe, then the read after the claim
    });

    it('a pause between the probe and the claim answers only once that claim is in the table', async () => {
      const runId = await started(deps, 'chain');
      expect(await pauseRacingClaim(deps, runId, { write: 0, read: 0 }, W)).toBe(true);
      // a ran (claimed before the pause answered: running at the pause) or, on a slow machine, was held.
      const a = await getTask(deps.db, runId, 'a');
      expect(a?.status === 'succeeded' || (a?.status === 'queued' && a.held === true)).toBe(true);
      if (a?.status === 'succeeded') expect(ran).toContain(`${runId}/a`);
      expect(await getRun(deps.db, runId)).toMatchObject({ status: 'paused' });
    });
  });
});

describe('the claim window and a cancel, W = 5000 ms', () => {
  const W = 5000; // wide: the master's first pass runs inside the window, on a machine that may be loaded
  let deps: Deps;
  beforeAll(async () => {
    deps = await depsWith({ BATON_CLAIM_WINDOW_MS: String(W), BATON_CANCEL_CHECK_MS: '50' });
  });

  /** The master's handling of the run's change from `before` to `after`, as the stream delivers it. */
  const delivered = (before: RunItem, after: RunItem) =>
    onChange(deps, {
      eventName: 'MODIFY',
      dynamodb: {
        OldImage: marshall(before, { removeUndefinedValues: true }) as never,
        NewImage: marshall(after, { removeUndefinedValues: true }) as never,
      },
    });

  it('a cancel between the probe and the claim, after the master stopped the work: the second pass, W later, stops the attempt', async () => {
    const runId = await started(deps, 'stop');
    const bStarted = new Promise<void>((r) => {
      blockerStarted = r;
    });
    const w = instrumented(deps, {
      beforeWrite: async (n) => {
        if (n !== 2) return;
        await w.runReadBack(1); // the probe landed, showing the run running
        const before = (await getRun(deps.db, runId)) as RunItem;
        const after = (await cancelRun(deps.db, runId, clock.t, 'test')) as RunItem;
        expect(after).toBeDefined();
        await delivered(before, after); // stopWork's first pass: b is not in the table yet
        expect(await getTask(deps.db, runId, 'b')).toBeUndefined();
      },
    });
    const worker = runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
    // The claim landed after the cancel and the probe was in time: b's code runs.
    await Promise.race([
      bStarted,
      worker.then(() => {
        throw new Error('b did not run on its probe: its answers took W/2 (an overloaded machine?)');
      }),
    ]);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'running' });
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'cancelled', stopAgain: true, dueAt: clock.t + W });
    clock.t += W;
    await fireDue(deps, keys.run(runId)); // the sweeper (or the timer) at the run's due time
    await worker;
    expect(aborted).toContain(`${runId}/b`);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'cancelled' });
    const run = await getRun(deps.db, runId);
    expect(run?.stopAgain).toBeUndefined();
    expect(run?.dueAt).toBeUndefined();
  });

  it('a recovery that leaves out an attempt whose claim raced the cancel stops that attempt before it begins', async () => {
    const runId = await started(deps, 'side');
    const bStarted = new Promise<void>((r) => {
      blockerStarted = r;
    });
    const w = instrumented(deps, {
      beforeWrite: async (n) => {
        if (n !== 2) return;
        await w.runReadBack(1); // the probe landed, showing the run running
        const before = (await getRun(deps.db, runId)) as RunItem;
        const after = (await cancelRun(deps.db, runId, clock.t, 'test')) as RunItem;
        await delivered(before, after); // stopWork's first pass: b is not in the table yet
      },
    });
    const worker = runAttempt(w.deps, { runId, task: 'a', attempt: 1 });
    await Promise.race([
      bStarted,
      worker.then(() => {
        throw new Error('b did not run on its probe: its answers took W/2 (an overloaded machine?)');
      }),
    ]);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'running' });
    // Before the second pass: a recovery of `c` alone (b is not downstream of it) begins once the end is W old.
    clock.t += W;
    const recovered = await recover(deps, runId, { tasks: ['c'] });
    expect(recovered).toMatchObject({ status: 'running', recovery: { tasks: ['c'] } });
    await worker;
    expect(aborted).toContain(`${runId}/b`);
    expect(await getTask(deps.db, runId, 'b')).toMatchObject({ status: 'cancelled' });
  });

  it("a cancel's record re-driven after a recovery does not arm a second pass on the recovered run", async () => {
    const runId = await started(deps, 'stop');
    const before = (await getRun(deps.db, runId)) as RunItem;
    const after = (await cancelRun(deps.db, runId, clock.t, 'test')) as RunItem;
    const recovered = (await beginRecovery(deps.db, after, ['a', 'b'], clock.t)) as RunItem;
    expect(recovered).toMatchObject({ status: 'running' });
    await delivered(before, after); // the cancel's record, late (a retry of its batch)
    const run = await getRun(deps.db, runId);
    expect(run?.stopAgain).toBeUndefined();
    expect(run?.dueAt).toBe(recovered.dueAt); // the watchdog's due time, not the second pass's
  });

  it('a recovery between the second pass and its clearing write keeps its watchdog due time', async () => {
    const runId = await started(deps, 'stop');
    const before = (await getRun(deps.db, runId)) as RunItem;
    const after = (await cancelRun(deps.db, runId, clock.t, 'test')) as RunItem;
    await delivered(before, after);
    expect(await getRun(deps.db, runId)).toMatchObject({ stopAgain: true });
    clock.t += W;
    let recovered: RunItem | undefined;
    const racing = {
      ...deps,
      db: new Db(
        {
          send: async (cmd: { input: { ExpressionAttributeNames?: Record<string, string> } }, ...rest: unknown[]) => {
            // The pass's clearing write (the only write of the pass that names `stopAgain`).
            if (Object.values(cmd.input.ExpressionAttributeNames ?? {}).includes('stopAgain') && recovered === undefined)
              recovered = await beginRecovery(deps.db, (await getRun(deps.db, runId)) as RunItem, ['a', 'b'], clock.t);
            return (deps.db.doc.send as (...a: unknown[]) => Promise<unknown>)(cmd, ...rest);
          },
        } as unknown as DynamoDBDocumentClient,
        deps.db.config,
      ),
    };
    await fireDue(racing, keys.run(runId));
    expect(recovered).toMatchObject({ status: 'running' });
    const run = await getRun(deps.db, runId);
    expect(run).toMatchObject({ status: 'running', dueAt: recovered?.dueAt });
  });
});
