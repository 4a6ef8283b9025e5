import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import type { RunItem } from '../../functions/store/items.js';
import { bumpPending, getRun, markAdmitted, markPending, markSkipped } from '../../functions/store/runs.js';
import {
  admitWaiting,
  advanceSchedule,
  createSchedule,
  deleteSchedule,
  enqueueWaiting,
  getGate,
  getSchedule,
  releaseSlot,
  replaceSchedule,
  type ScheduleFields,
  type ScheduleItem,
  setEnabled,
  takeSlot,
} from '../../functions/store/schedules.js';
import { Clock, call, guardDeps, putWorkflow } from './support.js';

/** Schedule marks and the concurrency gate: each change from the state it read, each slot taken once. */

const clock = new Clock();
let deps: Deps;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
  await putWorkflow(deps, { name: 'w', tasks: { a: { type: 'noop' } } });
  // Its runs are created queued: the gate (never full here) decides their start.
  await putWorkflow(deps, { name: 'gated', concurrency: { policy: 'queue', limit: 1000 }, tasks: { a: { type: 'noop' } } });
});

/** A new enabled schedule (through the API) and its item. */
async function schedule(): Promise<ScheduleItem> {
  const id = `s${++n}`;
  const r = await call(deps, 'PUT', `/workflows/w/schedules/${id}`, { cron: '0 * * * *', timezone: 'UTC' });
  expect(r.status).toBe(201);
  return (await getSchedule(deps.db, 'w', id)) as ScheduleItem;
}

const fieldsOf = (s: ScheduleItem): ScheduleFields => {
  const { pk, sk, kind, lastFireTime, generation, createdAt, updatedAt, lastFire, lastError, dueAt, dueShard, ...fields } = s;
  return fields;
};
const HOUR = 3_600_000;

describe('schedule marks', () => {
  it('a schedule is created once', async () => {
    const s = await schedule();
    expect(await createSchedule(deps.db, fieldsOf(s), clock.t, undefined)).toBe(false);
  });

  it('two ticks advancing one schedule from the same view: one does', async () => {
    const s = await schedule();
    const got = await Promise.all([
      advanceSchedule(deps.db, s, s.lastFireTime + HOUR, s.lastFireTime + 2 * HOUR, {}),
      advanceSchedule(deps.db, s, s.lastFireTime + HOUR, s.lastFireTime + 2 * HOUR, {}),
    ]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a tick does not advance a schedule that an API change replaced since it read it', async () => {
    const s = await schedule();
    expect(await replaceSchedule(deps.db, s, { ...fieldsOf(s), cron: '30 * * * *' }, clock.t, clock.t + HOUR)).toBeDefined();
    expect(await advanceSchedule(deps.db, s, s.lastFireTime + HOUR, undefined, {})).toBeUndefined();
    expect((await getSchedule(deps.db, 'w', s.scheduleId))?.lastFireTime).toBe(s.lastFireTime);
  });

  it('an API change does not overwrite a schedule that a tick advanced since it read it', async () => {
    const s = await schedule();
    expect(await advanceSchedule(deps.db, s, s.lastFireTime + HOUR, undefined, {})).toBeDefined();
    expect(await replaceSchedule(deps.db, s, { ...fieldsOf(s), cron: '30 * * * *' }, clock.t, undefined)).toBeUndefined();
  });

  it('pause and resume from a stale view are refused', async () => {
    const s = await schedule();
    expect(await setEnabled(deps.db, s, false, clock.t, undefined)).toBeDefined();
    expect(await setEnabled(deps.db, s, false, clock.t, undefined)).toBeUndefined();
    expect((await getSchedule(deps.db, 'w', s.scheduleId))?.generation).toBe(s.generation + 1);
    expect(await replaceSchedule(deps.db, s, { ...fieldsOf(s), cron: '30 * * * *' }, clock.t, undefined)).toBeUndefined();
    expect((await getSchedule(deps.db, 'w', s.scheduleId))?.cron).toBe('0 * * * *');
  });

  it('a pause or resume from a view read before the cron changed is refused (the schedule stayed enabled)', async () => {
    const s = await schedule();
    const changed = await replaceSchedule(deps.db, s, { ...fieldsOf(s), cron: '30 * * * *' }, clock.t, undefined);
    expect(changed).toMatchObject({ enabled: s.enabled, generation: s.generation + 1 });
    expect(await setEnabled(deps.db, s, !s.enabled, clock.t, undefined)).toBeUndefined();
    expect(await getSchedule(deps.db, 'w', s.scheduleId)).toMatchObject({ enabled: s.enabled, generation: s.generation + 1 });
  });

  it('a paused schedule is not advanced, even by a tick that read it paused: it stays out of the due index', async () => {
    const s = await schedule();
    const paused = (await setEnabled(deps.db, s, false, clock.t, undefined)) as ScheduleItem;
    expect(await advanceSchedule(deps.db, paused, clock.t, clock.t + HOUR, {})).toBeUndefined();
    const now = await getSchedule(deps.db, 'w', s.scheduleId);
    expect(now).toMatchObject({ enabled: false, lastFireTime: paused.lastFireTime });
    expect(now?.dueAt).toBeUndefined();
  });

  it('a schedule is deleted once', async () => {
    const s = await schedule();
    expect(await deleteSchedule(deps.db, 'w', s.scheduleId)).toBe(true);
    expect(await deleteSchedule(deps.db, 'w', s.scheduleId)).toBe(false);
  });
});

describe('the concurrency gate', () => {
  const wf = () => `gate${++n}`;

  it('eight runs taking the last slot at once: one gets it', async () => {
    const g = wf();
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => takeSlot(deps.db, g, `r${i}`, 1, false)));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await getGate(deps.db, g))?.active?.size).toBe(1);
  });

  it('a fair gate gives no slot past a waiting run', async () => {
    const g = wf();
    await enqueueWaiting(deps.db, g, '000000000000001#early');
    expect(await takeSlot(deps.db, g, 'late', 2, true)).toBe(false);
    expect(await takeSlot(deps.db, g, 'late', 2, false)).toBe(true);
  });

  it('a waiting run is admitted once, and only while there is room', async () => {
    const g = wf();
    await enqueueWaiting(deps.db, g, '000000000000001#a');
    await enqueueWaiting(deps.db, g, '000000000000002#b');
    const got = await Promise.all([admitWaiting(deps.db, g, '000000000000001#a', 5), admitWaiting(deps.db, g, '000000000000001#a', 5)]);
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await admitWaiting(deps.db, g, '000000000000002#b', 1)).toBe(false);
    expect((await getGate(deps.db, g))?.active).toEqual(new Set(['a']));
  });

  it('a slot is released once', async () => {
    const g = wf();
    await takeSlot(deps.db, g, 'r', 1, false);
    expect(await releaseSlot(deps.db, g, 'r', '0#r')).toBe(true);
    expect(await releaseSlot(deps.db, g, 'r', '0#r')).toBe(false);
  });

  it('gate transitions of a run: pending, admitted and skipped each from the status they need', async () => {
    const id = (await startWorkflow(deps, { workflow: 'gated', trigger: { type: 'api' } })).runId;
    expect(await markPending(deps.db, id, clock.t, clock.t + 5)).toBeDefined();
    expect(await markPending(deps.db, id, clock.t, clock.t + 5)).toBeUndefined();
    expect(await markSkipped(deps.db, id, clock.t, 'full')).toBeUndefined();
    const pending = (await getRun(deps.db, id)) as RunItem;
    expect(await bumpPending(deps.db, pending, clock.t + 10)).toBeDefined();
    expect(await bumpPending(deps.db, pending, clock.t + 20)).toBeUndefined();
    expect(await markAdmitted(deps.db, id, clock.t)).toBeDefined();
    expect(await markAdmitted(deps.db, id, clock.t)).toBeUndefined();
    // Admitted at the instant that keeps the due time of the pending view: the status alone must refuse it.
    const id2 = (await startWorkflow(deps, { workflow: 'gated', trigger: { type: 'api' } })).runId;
    await markPending(deps.db, id2, clock.t, clock.t + 7);
    const seen = (await getRun(deps.db, id2)) as RunItem;
    await markAdmitted(deps.db, id2, seen.dueAt as number);
    expect(await bumpPending(deps.db, seen, clock.t + 30)).toBeUndefined();
    expect((await getRun(deps.db, id2))?.status).toBe('queued');
  });
});
