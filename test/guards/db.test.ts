import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { startWorkflow } from '../../functions/orchestrator/start.js';
import { whereEquals } from '../../functions/store/expr.js';
import { keys } from '../../functions/store/items.js';
import { getRun } from '../../functions/store/runs.js';
import { Clock, guardDeps, putWorkflow } from './support.js';

/**
 * `Db.remove`, the one delete: only an item that exists, and only while the caller's condition holds
 * (a delete from a stale view must not take away what another caller has changed since).
 */

const clock = new Clock();
let deps: Deps;

beforeAll(async () => {
  deps = await guardDeps(clock);
  await putWorkflow(deps, { name: 'w', tasks: { a: { type: 'noop' } } });
});

describe('conditional delete', () => {
  it('deletes only while its condition holds, and reports a missing item as not deleted', async () => {
    const { runId } = await startWorkflow(deps, { workflow: 'w', trigger: { type: 'api' } });
    // Created running: nothing gates w's start (orchestrator/start.ts).
    expect(await deps.db.remove(keys.run(runId), whereEquals({ status: 'queued' }))).toBe(false);
    expect(await getRun(deps.db, runId)).toMatchObject({ status: 'running' });
    expect(await deps.db.remove(keys.run(runId), whereEquals({ status: 'running' }))).toBe(true);
    expect(await getRun(deps.db, runId)).toBeUndefined();
    expect(await deps.db.remove(keys.run(runId))).toBe(false);
  });
});
