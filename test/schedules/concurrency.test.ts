import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulerTick } from '../../functions/orchestrator/scheduler.js';
import { getGate } from '../../functions/store/schedules.js';
import type { Harness } from '../support/harness.js';
import { Clock, engineHarness, ok, putWorkflow, runsOf, until } from './support.js';

/**
 * Runs that hold their slot: a one-hour `wait` task on the test's clock. `release(wf)` moves the clock
 * past it and sweeps, which wakes the waits, so the runs end and the gate admits the next ones.
 */
const clock = new Clock(Date.parse('2025-08-01T00:00:00Z'));
let h: Harness;

const slow = (name: string, concurrency?: Record<string, unknown>) =>
  putWorkflow(h, { name, ...(concurrency && { concurrency }), tasks: { hold: { type: 'wait', duration: '1h' } } });

async function start(wf: string): Promise<string> {
  clock.advance(1); // distinct creation times: the queue is ordered by them
  return (await ok(h, 'POST', `/workflows/${wf}/runs`, {}, 201)).runId;
}

const statuses = async (wf: string) => Object.fromEntries((await runsOf(h, wf)).map((r) => [r.runId, r.status]));

/** Waits until the runs of `wf` have exactly these statuses (by run id). */
async function expectStatuses(wf: string, want: Record<string, string>) {
  const canon = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());
  let got: Record<string, string> = {};
  await until(`statuses of ${wf} = ${JSON.stringify(want)}`, async () => {
    got = await statuses(wf);
    return canon(got) === canon(want) ? got : undefined;
  }).catch((err) => {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(got)}`);
  });
}

/**
 * Ends the waits of the running runs of `wf`. A run shows `running` as soon as it is admitted, a moment
 * before its worker puts its `hold` task to wait on the clock: only a wait already armed when the clock
 * moves is due at the sweep, so first wait for every running run's wait.
 */
async function release(wf: string) {
  const running = Object.entries(await statuses(wf)).filter(([, s]) => s === 'running');
  for (const [id] of running) {
    await until(`the wait of ${id}`, async () => {
      const r = await ok(h, 'GET', `/runs/${id}`);
      return r.status !== 'running' || r.tasks.find((t: { name: string }) => t.name === 'hold')?.status === 'waiting' ? true : undefined;
    });
  }
  clock.advance(2 * 3_600_000);
  await h.runtime.sweepNow();
}

beforeAll(async () => {
  h = await engineHarness({ roles: { master: true, worker: true, sweeper: false, scheduler: false }, deps: { now: clock.now } });
});
afterAll(() => h.stop());

describe('workflow concurrency', () => {
  it('allow: every run starts', async () => {
    await slow('free');
    const ids = [await start('free'), await start('free'), await start('free')];
    await expectStatuses('free', Object.fromEntries(ids.map((id) => [id, 'running'])));
  });

  it('rejects a bad concurrency field, naming it', async () => {
    const r = await h.request('PUT', '/workflows/badc', {
      name: 'badc',
      concurrency: { policy: 'queue', limit: 0 },
      tasks: { t: { type: 'noop' } },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].path).toBe('concurrency.limit');
  });

  it('queue limit 2: at most two active, the rest pending and admitted oldest first', async () => {
    await slow('line', { policy: 'queue', limit: 2 });
    // Started one after the other (runs arriving at the same instant take free slots in whatever order
    // the master sees them; the line itself is by creation time).
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await start('line');
      ids.push(id);
      await until(`${id} settles`, async () => ((await statuses('line'))[id] === (i < 2 ? 'running' : 'pending') ? true : undefined));
    }
    const [a, b, c, d, e] = ids as [string, string, string, string, string];
    await expectStatuses('line', { [a]: 'running', [b]: 'running', [c]: 'pending', [d]: 'pending', [e]: 'pending' });
    expect((await getGate(h.runtime.deps.db, 'line'))?.active).toEqual(new Set([a, b]));
    await release('line');
    await expectStatuses('line', { [a]: 'succeeded', [b]: 'succeeded', [c]: 'running', [d]: 'running', [e]: 'pending' });
    await release('line');
    await expectStatuses('line', { [a]: 'succeeded', [b]: 'succeeded', [c]: 'succeeded', [d]: 'succeeded', [e]: 'running' });
    await release('line');
    await expectStatuses('line', { [a]: 'succeeded', [b]: 'succeeded', [c]: 'succeeded', [d]: 'succeeded', [e]: 'succeeded' });
    // The last end event frees the last slot (the statuses can be seen a moment before it is handled).
    await until('the gate is empty', async () => {
      const gate = await getGate(h.runtime.deps.db, 'line');
      return (gate?.active?.size ?? 0) + (gate?.waiting?.size ?? 0) === 0 ? true : undefined;
    });
  });

  it('skip: a run that finds the workflow busy is created as skipped, whatever started it', async () => {
    await slow('solo', { policy: 'skip' });
    const a = await start('solo');
    await expectStatuses('solo', { [a]: 'running' });
    const b = await start('solo');
    await expectStatuses('solo', { [a]: 'running', [b]: 'skipped' });
    const skipped = await ok(h, 'GET', `/runs/${b}`);
    expect(skipped.skipReason).toContain('policy skip');
    expect(skipped.startedAt).toBeUndefined();

    // A schedule firing while it is busy: its run is skipped too, and a repeated tick adds nothing.
    await ok(h, 'PUT', '/workflows/solo/schedules/s', { cron: '0 * * * *' }, 201);
    const next = (await ok(h, 'GET', '/workflows/solo/schedules/s')).nextFireTime;
    clock.set(Date.parse(next) + 1000);
    await schedulerTick(h.runtime.deps);
    await schedulerTick(h.runtime.deps);
    const byTrigger = async () => (await runsOf(h, 'solo')).filter((r) => r.trigger.type === 'schedule');
    const fromSchedule = await until('the scheduled run is skipped', async () => {
      const r = await byTrigger();
      return r.length === 1 && r[0].status === 'skipped' ? r : undefined;
    });
    expect(fromSchedule[0].trigger.fireTime).toBe(next);
    await ok(h, 'DELETE', '/workflows/solo/schedules/s', undefined, 204);

    await release('solo');
    await expectStatuses('solo', { [a]: 'succeeded', [b]: 'skipped', [fromSchedule[0].runId]: 'skipped' });
    // `a`'s end event frees its slot a moment after its status can be seen; a run created before that
    // is (rightly) skipped, so the next run is started once the gate is free.
    await until('the gate is free', async () => ((await getGate(h.runtime.deps.db, 'solo'))?.active?.size ?? 0) === 0 || undefined);
    const c = await start('solo');
    await until('the next run starts', async () => ((await statuses('solo'))[c] === 'running' ? true : undefined));
  });
});
