import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untoldSuccessors } from '../../functions/orchestrator/reprocess.js';
import { onChange } from '../../functions/orchestrator/stream.js';
import { loadWorkflow } from '../../functions/orchestrator/workflows.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';
import type { TaskItem } from '../../functions/store/items.js';
import { keys, TASK_SK_PREFIX } from '../../functions/store/items.js';
import { getRun } from '../../functions/store/runs.js';
import { StreamImages } from '../../functions/store/stream-images.js';
import { getTask } from '../../functions/store/tasks.js';
import { attachHarness, countCommands, countRunReads, type Harness, itemReads, startHarness } from '../support/harness.js';
import { until } from '../support/wait.js';

/**
 * Inline advance and eager dispatch. No master runs (no stream poller): the API that creates a run
 * queues its roots (inline start, `inline-start.test.ts`), and every later step is the workers' own, so
 * a run that finishes proves the inline path.
 * The master's re-processing of an inline ending is then driven by hand, with its requests counted.
 */
// No scheduler either: its tick (a Query per due-index shard, every second) would land in the counted windows below.
const NO_MASTER = { roles: { master: false, worker: true, sweeper: false, scheduler: false } };
const chain = (name: string) => ({
  name,
  tasks: { t0: { type: 'noop' }, t1: { type: 'noop', after: ['t0'] }, t2: { type: 'noop', after: ['t1'], output: 'end' } },
});

/** Whether the run's start is still to come: queued, or created running with its first root not queued yet. */
const unstarted = async (h: Harness, runId: string) =>
  (await getRun(h.runtime.deps.db, runId))?.status === 'queued' || !(await getTask(h.runtime.deps.db, runId, 't0'));
/** A chain of `n` noops, t0 → t1 → … */
const longChain = (name: string, n: number) => ({
  name,
  tasks: Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, { type: 'noop', ...(i > 0 && { after: [`t${i - 1}`] }) }])),
});

/** Starts a run of `wf` through the API, which starts it itself (inline start), and waits for it to end. */
async function runToEnd(h: Harness, wf: string, definition: object = chain(wf)): Promise<string> {
  const db = h.runtime.deps.db;
  expect((await h.request('PUT', `/workflows/${wf}`, definition)).status).toBe(201);
  const runId = (await h.request('POST', `/workflows/${wf}/runs`, {})).body.runId as string;
  await until(
    'the run to end',
    async () => {
      const r = await getRun(db, runId);
      return r && ['succeeded', 'failed'].includes(r.status);
    },
    30_000,
    50,
  );
  return runId;
}

/** The stream record of a task's ending, as the master receives it. */
const endingRecord = (t: TaskItem) => ({
  eventName: 'MODIFY',
  dynamodb: {
    NewImage: marshall(t, { removeUndefinedValues: true }) as never,
    OldImage: marshall({ ...t, status: 'running' }, { removeUndefinedValues: true }) as never,
  },
});

describe('inline advance', () => {
  let h: Harness;
  let off: Harness;
  let lost: Harness;
  let quiet: Harness;
  let wide: Harness;
  beforeAll(async () => {
    [h, off, lost, quiet, wide] = await Promise.all([
      startHarness({}, NO_MASTER),
      startHarness({ BATON_EAGER_MAX_STEPS: '0' }, NO_MASTER),
      // Workers that do not advance stand for workers that died right after recording their ending.
      startHarness({ BATON_INLINE_ADVANCE: '0', BATON_INLINE_GRACE_MS: '0' }, NO_MASTER),
      // A table with one run only, for a master that sees its whole stream in one batch.
      startHarness({}, NO_MASTER),
      // A short grace, so that a fan-out's advance outlasts ten of them.
      startHarness({ BATON_INLINE_GRACE_MS: '100' }, NO_MASTER),
    ]);
  });
  afterAll(() => Promise.all([h.stop(), off.stop(), lost.stop(), quiet.stop(), wide.stop()]));

  it('finishes a chain with no master: each worker queues the next task and runs it itself', async () => {
    const runId = await runToEnd(h, 'inline-chain');
    const db = h.runtime.deps.db;
    expect((await getRun(db, runId))?.status).toBe('succeeded');
    const [t0, t1, t2] = await Promise.all(['t0', 't1', 't2'].map((n) => getTask(db, runId, n)));
    expect(t0).toMatchObject({ promotedBy: 'creator', inlineAdvance: true, workflow: 'inline-chain', version: 1 });
    expect(t0?.eager).toBeUndefined();
    for (const t of [t1, t2]) {
      expect(t).toMatchObject({ status: 'succeeded', promotedBy: 'worker', eager: true, inlineAdvance: true });
      expect(t?.attempts?.map((a) => a.status)).toEqual(['succeeded']);
    }
  });

  it('a chain under failureStrategy end reads its run once per step: the read sent with each claim decides the next', async () => {
    // Every other task of a chain ended before it started or starts after it ends (`graph.alone`): its
    // success advances from the view read with its claim, not from a read sent with its ending.
    const runReads = countRunReads(h);
    try {
      const wf = 'end-chain';
      expect((await h.request('PUT', `/workflows/${wf}`, { ...longChain(wf, 12), failureStrategy: 'end' })).status).toBe(201);
      const runId = (await h.request('POST', `/workflows/${wf}/runs`, {})).body.runId as string;
      // Watched through a client of its own, so that only the runtime's reads are counted.
      const watch = new Db(documentClient(dynamoClient()), h.runtime.deps.db.config);
      await until('the run to end', async () => (await getRun(watch, runId))?.status === 'succeeded', 30_000, 50);
      // The start's reads of the run (two at most), and 12 claims' reads.
      expect(runReads.n).toBeGreaterThanOrEqual(12);
      expect(runReads.n).toBeLessThanOrEqual(12 + 2);
    } finally {
      runReads.stop();
    }
  });

  it('dispatches successors instead when eager dispatch is off', async () => {
    const runId = await runToEnd(off, 'dispatched-chain');
    const db = off.runtime.deps.db;
    expect((await getRun(db, runId))?.status).toBe('succeeded');
    for (const n of ['t1', 't2']) {
      const t = await getTask(db, runId, n);
      expect(t).toMatchObject({ status: 'succeeded', promotedBy: 'worker' });
      expect(t?.eager).toBeUndefined();
    }
  });

  it('a master re-driven by an inline ending reads, and writes nothing', async () => {
    const runId = await runToEnd(h, 'redriven');
    const db = h.runtime.deps.db;
    const t0 = (await getTask(db, runId, 't0')) as TaskItem;
    const before = await getTask(db, runId, 't1');
    const counts = await countCommands(h, () => onChange(h.runtime.deps, endingRecord(t0)));
    expect(counts).toEqual({ GetItemCommand: 1 }); // t1, the one successor; not even the run
    expect(await getTask(db, runId, 't1')).toEqual(before);
  });

  it('a master re-driven by an inline ending whose advance was lost makes that advance', async () => {
    const db = lost.runtime.deps.db;
    expect((await lost.request('PUT', '/workflows/lost-inline', chain('lost-inline'))).status).toBe(201);
    const runId = (await lost.request('POST', '/workflows/lost-inline/runs', {})).body.runId as string;
    const t0 = await until(
      't0 to end',
      async () => {
        if (await unstarted(lost, runId)) await lost.runtime.sweepNow();
        const t = await getTask(db, runId, 't0');
        return t?.status === 'succeeded' ? t : undefined;
      },
      30_000,
    );
    expect(await getTask(db, runId, 't1')).toBeUndefined();
    // The record of an ending whose worker meant to advance inline and died before it could.
    await onChange(lost.runtime.deps, endingRecord({ ...t0, inlineAdvance: true }));
    expect(await getTask(db, runId, 't1')).toMatchObject({
      status: expect.stringMatching(/queued|running|succeeded/),
      promotedBy: 'master',
    });
  });

  it('an image of a successor older than the ending (a state from before a recovery) does not stand for it told', async () => {
    const db = lost.runtime.deps.db;
    expect((await lost.request('PUT', '/workflows/old-image', chain('old-image'))).status).toBe(201);
    const runId = (await lost.request('POST', '/workflows/old-image/runs', {})).body.runId as string;
    const t0 = await until(
      't0 to end',
      async () => {
        if (await unstarted(lost, runId)) await lost.runtime.sweepNow();
        const t = await getTask(db, runId, 't0');
        return t?.status === 'succeeded' ? t : undefined;
      },
      30_000,
    );
    expect(await getTask(db, runId, 't1')).toBeUndefined();
    // The stream showed t1 done, but before this ending's record (lower sequence number): not since it.
    const t1Then = { ...keys.task(runId, 't1'), kind: 'task', runId, name: 't1', status: 'succeeded', attempt: 1 };
    lost.runtime.deps.images?.note([{ dynamodb: { SequenceNumber: '000000000000000000899', NewImage: marshall(t1Then) as never } }]);
    const ending = endingRecord({ ...t0, inlineAdvance: true });
    await onChange(lost.runtime.deps, { ...ending, dynamodb: { ...ending.dynamodb, SequenceNumber: '000000000000000000900' } });
    expect(await getTask(db, runId, 't1')).toMatchObject({ promotedBy: 'master' });
  });

  it('a master that gets a whole inline chain in one batch reads none of its tasks: the batch shows them told', async () => {
    const n = 8;
    const runId = await runToEnd(quiet, 'one-batch', longChain('one-batch', n));
    expect((await getRun(quiet.runtime.deps.db, runId))?.status).toBe('succeeded');
    // A master started now reads the table's stream from its trim horizon: every record of the run, one batch.
    const client = dynamoClient();
    const { reads } = itemReads(client, (sk) => sk.startsWith(TASK_SK_PREFIX));
    const checkpoint = join(mkdtempSync(join(tmpdir(), 'baton-batch-')), 'stream.json');
    const master = attachHarness(quiet.config, {
      client,
      streamCheckpoint: checkpoint,
      roles: { master: true, worker: false, sweeper: false, scheduler: false },
    });
    try {
      // The checkpoint is written once the batch is handled (every record of it, the re-processing included).
      await until('the master to handle the batch', async () => existsSync(checkpoint), 30_000, 20);
      expect(reads).toEqual([]);
      expect(master.runtime.deps.images?.size).toBeGreaterThanOrEqual(n + 1); // each task's image and the run's
      for (let i = 1; i < n; i++) expect(await getTask(quiet.runtime.deps.db, runId, `t${i}`)).toMatchObject({ promotedBy: 'worker' });
    } finally {
      await master.stop();
    }
  });

  /**
   * The re-processing of a fan-out root's ending while the writer's advance is still queueing its
   * successors, one image every few ms (the stream read ahead, as locally): `width` successors take
   * longer than ten graces of 100 ms to come in, yet come in steadily. `stopAfter`: the writer died after
   * queueing that many, before this re-processing began.
   */
  /** A stored workflow whose root fans out to `width` tasks m0..m(width-1), and the root's inline ending, `endedAgoMs` ago. */
  async function wideEnding(name: string, width: number, endedAgoMs = 0) {
    const mids = Array.from({ length: width }, (_, i) => `m${i}`);
    const definition = {
      name,
      tasks: { root: { type: 'noop' }, ...Object.fromEntries(mids.map((m) => [m, { type: 'noop', after: ['root'] }])) },
    };
    const put = await wide.request('PUT', `/workflows/${name}`, definition);
    expect(put.status).toBe(201);
    const version = put.body.version as number;
    // Loaded now, as by a master that ran this workflow before: the re-processing begins with its first look.
    await loadWorkflow(wide.runtime.deps.db, name, version);
    const runId = `r-${name}`;
    const ending = {
      ...keys.task(runId, 'root'),
      kind: 'task',
      runId,
      name: 'root',
      status: 'succeeded',
      attempt: 1,
      workflow: name,
      version,
      endedAt: wide.runtime.deps.now() - endedAgoMs,
      inlineAdvance: true,
    } as TaskItem;
    return { mids, runId, ending };
  }

  async function reprocessWide(name: string, width: number, stopAfter = width) {
    const { runId, ending } = await wideEnding(name, width);
    const images = new LookFedImages();
    const seq = (n: number) => String(n).padStart(21, '0');
    let fed = 0;
    const feed = () => {
      const m = `m${fed}`;
      const image = { ...keys.task(runId, m), kind: 'task', runId, name: m, status: 'queued', attempt: 1 };
      images.note([{ dynamodb: { SequenceNumber: seq(1001 + fed), NewImage: marshall(image) as never } }]);
      fed++;
    };
    // A writer that died: what it queued is all there is, from the start. Else 20 more at each look of the
    // master (each wait for images), so that they keep coming however slow the machine (a 5 ms timer feeding
    // them stalled past a grace on a loaded fresh clone, and the wait rightly stopped).
    if (stopAfter < width) while (fed < stopAfter) feed();
    images.onLook = () => {
      for (let i = 0; i < 20 && fed < stopAfter; i++) feed();
    };
    const counter = itemReads(wide.runtime.client, (sk) => sk.startsWith(TASK_SK_PREFIX));
    try {
      const untold = await untoldSuccessors({ ...wide.runtime.deps, images }, ending, seq(1000));
      return { untold, reads: counter.reads, fed };
    } finally {
      counter.stop();
    }
  }

  it('a master whose images keep settling a wide fan-out waits for them past ten graces, and reads none', async () => {
    const { untold, reads, fed } = await reprocessWide('wide-wait', 300);
    expect(fed).toBe(300); // 15 looks a grace apart at least: 1.4 s of images coming in, against 1.1 s for the first grace and ten more
    expect(untold).toEqual(new Set());
    expect(reads).toEqual([]);
  });

  it('a record handled after its grace, while the writer has only begun (eager holders, still running), waits for the rest', async () => {
    // The bench's fan-out of 998: the master took the ending's record up after its grace, when the worker's
    // inline advance had written only the attempts it holds (running, out of the due index: not settled).
    // A wait that counted settled successors alone saw none come in, stopped, and read all 998.
    const deps = wide.runtime.deps;
    const { mids, runId, ending } = await wideEnding('wide-late', 60, 3 * wide.config.inlineGraceMs);
    // Read ahead, as the local master's stream is: each note is a read that reached the stream's tip.
    const images = new LookFedImages().readAhead();
    const seq = (n: number) => String(n).padStart(21, '0');
    // The writer's writes, 20 at each look of the master (each wait for images; not on a timer, which a
    // loaded machine stalls past a grace): m0..m19 claimed (eager holders, running, no due entry), then
    // m20..m59 queued, then m0..m19 succeeded.
    const writes = [
      ...mids.slice(0, 20).map((m) => ({ m, status: 'running' })),
      ...mids.slice(20).map((m) => ({ m, status: 'queued' })),
      ...mids.slice(0, 20).map((m) => ({ m, status: 'succeeded' })),
    ];
    let fed = 0;
    images.onLook = () => {
      const batch = writes.slice(fed, fed + 20).map((w, i) => {
        const image = { ...keys.task(runId, w.m), kind: 'task', runId, name: w.m, status: w.status, attempt: 1 };
        return { dynamodb: { SequenceNumber: seq(1001 + fed + i), NewImage: marshall(image) as never } };
      });
      fed += batch.length;
      if (batch.length > 0) images.noteRead(batch, Date.now());
    };
    const counter = itemReads(wide.runtime.client, (sk) => sk.startsWith(TASK_SK_PREFIX));
    try {
      const untold = await untoldSuccessors({ ...deps, images }, ending, seq(1000));
      expect(fed).toBe(writes.length);
      expect(untold).toEqual(new Set());
      expect(counter.reads).toEqual([]);
    } finally {
      counter.stop();
    }
  });

  it('a master whose images stop coming reads the successors they did not settle, and only those', async () => {
    const { untold, reads } = await reprocessWide('wide-stop', 60, 20);
    const rest = Array.from({ length: 40 }, (_, i) => `m${i + 20}`);
    expect(untold).toEqual(new Set(rest));
    // Each read twice: eventually consistent first, then consistently before acting on it.
    expect(new Set(reads)).toEqual(new Set(rest.map((m) => `${TASK_SK_PREFIX}${m}`)));
  });
});

/** Stream images that a test feeds each time the master looks for them (`until`), as a writer at work would. */
class LookFedImages extends StreamImages {
  onLook: () => void = () => {};
  override until(done: () => boolean, deadline: number, now: () => number): Promise<boolean> {
    this.onLook();
    return super.until(done, deadline, now);
  }
}
