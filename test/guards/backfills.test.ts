import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import {
  type BackfillItem,
  cancel,
  complete,
  createBackfill,
  getBackfill,
  type NewBackfill,
  recordOutcome,
  reserve,
  setBackfillDue,
} from '../../functions/store/backfills.js';
import { Clock, guardDeps } from './support.js';

/** Backfills: each fire time reserved once, each run counted once, the cursor and status from the view read. */

const clock = new Clock();
let deps: Deps;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
});

/** A running backfill of `times` fire times. */
async function backfill(times = 3, parallelism = 2): Promise<BackfillItem> {
  const id = `b${++n}`;
  const b = {
    backfillId: id,
    workflow: 'w',
    cron: '0 * * * *',
    timezone: 'UTC',
    spec: {},
    rangeStart: 0,
    rangeEnd: times,
    times: Array.from({ length: times }, (_, i) => i + 1),
    mode: 'parallel',
    parallelism,
    rerun: false,
    runKey: 'w/s',
    params: {},
    requestDigest: 'd',
    createdAt: clock.t,
  } as unknown as NewBackfill;
  expect(await createBackfill(deps.db, b)).toBe(true);
  return (await getBackfill(deps.db, id)) as BackfillItem;
}

const get = async (b: BackfillItem) => (await getBackfill(deps.db, b.backfillId)) as BackfillItem;

describe('backfills', () => {
  it('a backfill is created once', async () => {
    const b = await backfill();
    const { pk, sk, kind, status, next, updatedAt, dueAt, dueShard, ...again } = b;
    expect(await createBackfill(deps.db, again as NewBackfill)).toBe(false);
  });

  it('two pumps reserving the same fire time from the same view: one does', async () => {
    const b = await backfill();
    const got = await Promise.all([reserve(deps.db, b, 0, 'r0', 2, clock.t), reserve(deps.db, b, 0, 'r0-bis', 2, clock.t)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
    expect((await get(b)).next).toBe(1);
  });

  it('no reservation past the limit in flight, nor on a cancelled backfill', async () => {
    const b = await backfill(3, 1);
    expect(await reserve(deps.db, b, 0, 'r0', 1, clock.t)).toBeDefined();
    expect(await reserve(deps.db, await get(b), 1, 'r1', 1, clock.t)).toBeUndefined();
    const c = await backfill(3, 2);
    expect(await cancel(deps.db, c.backfillId, clock.t)).toBeDefined();
    expect(await cancel(deps.db, c.backfillId, clock.t)).toBeUndefined();
    expect(await reserve(deps.db, c, 0, 'r0', 2, clock.t)).toBeUndefined();
  });

  it('a run is counted once', async () => {
    const b = await backfill();
    await reserve(deps.db, b, 0, 'r0', 2, clock.t);
    const got = await Promise.all([
      recordOutcome(deps.db, b.backfillId, 'r0', 'succeeded', clock.t),
      recordOutcome(deps.db, b.backfillId, 'r0', 'failed', clock.t),
    ]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a backfill completes only when every time was reserved and every run ended, and only while running', async () => {
    const b = await backfill(2, 2);
    await reserve(deps.db, b, 0, 'r0', 2, clock.t);
    expect(await complete(deps.db, b, clock.t)).toBeUndefined();
    await reserve(deps.db, await get(b), 1, 'r1', 2, clock.t);
    expect(await complete(deps.db, b, clock.t)).toBeUndefined();
    await recordOutcome(deps.db, b.backfillId, 'r0', 'succeeded', clock.t);
    await recordOutcome(deps.db, b.backfillId, 'r1', 'succeeded', clock.t);
    const c = await backfill(2, 2);
    await reserve(deps.db, c, 0, 'c0', 2, clock.t);
    await recordOutcome(deps.db, c.backfillId, 'c0', 'succeeded', clock.t);
    expect(await complete(deps.db, c, clock.t)).toBeUndefined();
    expect(await cancel(deps.db, b.backfillId, clock.t)).toBeDefined();
    expect(await complete(deps.db, b, clock.t)).toBeUndefined();
    expect((await get(b)).status).toBe('cancelled');
  });

  it('the sweeper moves the due time only from the one it read', async () => {
    const b = await backfill();
    expect(await setBackfillDue(deps.db, b, clock.t + 5)).toBeDefined();
    expect(await setBackfillDue(deps.db, b, clock.t + 9)).toBeUndefined();
  });
});
