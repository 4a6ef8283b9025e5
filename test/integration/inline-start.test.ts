import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleRoots } from '../../functions/orchestrator/master.js';
import { onChange } from '../../functions/orchestrator/stream.js';
import { loadWorkflow } from '../../functions/orchestrator/workflows.js';
import type { RunItem, TaskItem } from '../../functions/store/items.js';
import { createdRunning, createRun, getRun } from '../../functions/store/runs.js';
import { StreamImages } from '../../functions/store/stream-images.js';
import { getTask } from '../../functions/store/tasks.js';
import { countCommands, type Harness, startHarness } from '../support/harness.js';

/**
 * Inline start (`run-start.ts startInline`): the API that creates a run nothing gates queues its roots and
 * dispatches them itself, and the master's handling of the creation's record only checks that it did
 * (`checkInlineStart`): it writes nothing then, and reads nothing once the roots' own records came; it
 * queues the roots an API that died after the put left without an item.
 */
const pair = (name: string) => ({
  name,
  tasks: {
    a: { type: 'noop', output: 1 },
    b: { type: 'noop', output: 2 },
    c: { type: 'noop', after: ['a', 'b'], output: '${tasks.b.output}' },
  },
});
// Neither a master nor a sweeper: nothing but the API can start a run here.
const API_AND_WORKER = { roles: { master: false, worker: true, sweeper: false, scheduler: false } };
const MASTER_AND_WORKER = { roles: { master: true, worker: true, sweeper: false, scheduler: false } };

/** The creation's stream record of `run`, as the master receives it. */
const creationRecord = (run: RunItem, sequence?: string) => ({
  eventName: 'INSERT',
  dynamodb: { NewImage: marshall(run, { removeUndefinedValues: true }) as never, ...(sequence && { SequenceNumber: sequence }) },
});

describe('inline start', () => {
  let h: Harness;
  let m: Harness;
  beforeAll(async () => {
    h = await startHarness({}, API_AND_WORKER);
    m = await startHarness({ BATON_INLINE_GRACE_MS: '100' }, MASTER_AND_WORKER);
    for (const x of [h, m]) expect((await x.request('PUT', '/workflows/pair', pair('pair'))).status).toBe(201);
  });
  afterAll(async () => {
    await Promise.all([h?.stop(), m?.stop()]);
  });

  it('the API queues and dispatches the roots: a run finishes with no master and no sweeper', async () => {
    const start = await h.request('POST', '/workflows/pair/runs', {});
    expect(start.status).toBe(201);
    const run = await h.waitForRun(start.body.runId, 15_000);
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ c: 2 });
    const db = h.runtime.deps.db;
    const stored = await getRun(db, start.body.runId);
    expect(stored?.inlineStart).toBe(true);
    for (const root of ['a', 'b']) {
      const t = await getTask(db, start.body.runId, root);
      expect(t).toMatchObject({ status: 'succeeded', attempt: 1, promotedBy: 'creator' });
    }
  });

  it('a rerun through the API is started by the API too', async () => {
    const first = (await h.request('POST', '/workflows/pair/runs', {})).body.runId as string;
    await h.waitForRun(first, 15_000);
    const again = await h.request('POST', `/runs/${first}/rerun`);
    expect(again.status).toBe(201);
    const run = await h.waitForRun(again.body.runId, 15_000);
    expect(run).toMatchObject({ status: 'succeeded', trigger: { type: 'rerun', of: first } });
    expect(await getTask(h.runtime.deps.db, again.body.runId, 'a')).toMatchObject({ promotedBy: 'creator' });
  });

  // Counted on the run's partition only: the worker's own work after an earlier run's end (waking its
  // dependents) may land in the window.
  it("the master's handling of the creation record writes nothing, and reads nothing once the roots' records came", async () => {
    const runId = (await h.request('POST', '/workflows/pair/runs', {})).body.runId as string;
    await h.waitForRun(runId, 15_000);
    const db = h.runtime.deps.db;
    const run = (await getRun(db, runId)) as RunItem;
    // The item as its creation wrote it (the record's new image), from the fields the run keeps.
    const { workflow, version, params, createdAt, trigger, depth, requestDigest } = run;
    const creation = createdRunning(db, { runId, workflow, version, params, createdAt, trigger, depth, requestDigest, inlineStart: true });
    expect(creation.status).toBe('running');
    const roots = (await Promise.all(['a', 'b'].map((r) => getTask(db, runId, r)))) as TaskItem[];
    // The roots' records come after the creation's (higher sequence numbers), as in the stream.
    const images = new StreamImages();
    images.note(
      roots.map((t, i) => ({
        dynamodb: { NewImage: marshall(t, { removeUndefinedValues: true }) as never, SequenceNumber: String(10 + i) },
      })),
    );
    await loadWorkflow(db, 'pair', run.version); // the definition, cached as in a warm master
    const withImages = await countCommands(h, () => onChange({ ...h.runtime.deps, images }, creationRecord(creation, '5')), `RUN#${runId}`);
    expect(withImages).toEqual({});
    // Without the roots' records (none came in time): one read per root, and still no write.
    const without = await countCommands(
      h,
      () => onChange({ ...h.runtime.deps, images: new StreamImages() }, creationRecord(creation, '5')),
      `RUN#${runId}`,
    );
    expect(without).toEqual({ GetItemCommand: 2 });
    expect(await getRun(db, runId)).toEqual(run);
  });

  it('an API that died right after the put: the master queues the roots after its grace, and the run finishes', async () => {
    const db = m.runtime.deps.db;
    const runId = `rdied${Date.now().toString(36)}`;
    // What an API killed between the put and its first root leaves: the run, running, marked inline, no task.
    const created = await createRun(
      db,
      { runId, workflow: 'pair', version: 1, params: {}, createdAt: Date.now(), trigger: { type: 'api' }, depth: 0, inlineStart: true },
      true,
    );
    expect(created).toBe(true);
    const run = await m.waitForRun(runId, 15_000);
    expect(run.status).toBe('succeeded');
    for (const root of ['a', 'b']) {
      expect(await getTask(db, runId, root)).toMatchObject({ status: 'succeeded', attempt: 1, promotedBy: 'master' });
    }
  });

  it('an API that died between its roots: the master queues only the missing one', async () => {
    const db = m.runtime.deps.db;
    const runId = `rhalf${Date.now().toString(36)}`;
    const wf = await loadWorkflow(db, 'pair', 1);
    const fields = {
      runId,
      workflow: 'pair',
      version: 1,
      params: {},
      createdAt: Date.now(),
      trigger: { type: 'api' as const },
      depth: 0,
      inlineStart: true,
    };
    expect(await createRun(db, fields, true)).toBe(true);
    // Its first root queued (and dispatched) as the API's inline start does it, then nothing.
    await settleRoots(m.runtime.deps, createdRunning(db, fields), wf, 'creator', ['a']);
    const run = await m.waitForRun(runId, 15_000);
    expect(run.status).toBe('succeeded');
    expect(await getTask(db, runId, 'a')).toMatchObject({ status: 'succeeded', attempt: 1, promotedBy: 'creator' });
    expect(await getTask(db, runId, 'b')).toMatchObject({ status: 'succeeded', attempt: 1, promotedBy: 'master' });
  });
});
