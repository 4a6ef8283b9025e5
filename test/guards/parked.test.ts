import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { listParked, noteRecordFailure, parkRecord } from '../../functions/store/parked.js';
import { Clock, guardDeps } from './support.js';

/** Parked stream records: a record is parked once, and a parked record is never counted again. */

const clock = new Clock();
let deps: Deps;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
});

const failure = (recordId: string) => ({ recordId, runId: 'r', task: 't', error: 'boom' });

describe('parked stream records', () => {
  it('two masters parking one record at once: one parks it', async () => {
    const id = `rec${++n}`;
    await noteRecordFailure(deps.db, failure(id), clock.t);
    const got = await Promise.all([parkRecord(deps.db, id, clock.t + 1), parkRecord(deps.db, id, clock.t + 2)]);
    expect(got.filter((g) => g !== undefined)).toHaveLength(1);
  });

  it('a redelivered record that is parked is not counted again, and keeps the time it was parked', async () => {
    const id = `rec${++n}`;
    expect(await noteRecordFailure(deps.db, failure(id), clock.t)).toMatchObject({ failures: 1 });
    expect(await parkRecord(deps.db, id, clock.t + 1)).toMatchObject({ parkedAt: clock.t + 1 });
    expect(await noteRecordFailure(deps.db, failure(id), clock.t + 2)).toBeUndefined();
    expect(await parkRecord(deps.db, id, clock.t + 3)).toBeUndefined();
    expect((await listParked(deps.db)).find((p) => p.recordId === id)).toMatchObject({ failures: 1, parkedAt: clock.t + 1 });
  });
});
