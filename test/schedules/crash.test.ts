import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scheduleRunId, schedulerTick } from '../../functions/orchestrator/scheduler.js';
import { getSchedule } from '../../functions/store/schedules.js';
import { attachHarness } from '../support/harness.js';
import { Clock, clockHarness, fireTimesOf, NO_ROLES, ok, putWorkflow, runScript, runsOf, until } from './support.js';

/**
 * Real process kills (SIGKILL at an armed crash point, see functions/common/crash.ts) in the middle of
 * a scheduler tick and of backfills; then the survivors finish the work, and the table shows exactly
 * one run per fire time.
 */

const killed = (r: { code: number | null; signal: NodeJS.Signals | null }) => r.signal === 'SIGKILL' || r.code === 137;

function crashEnv(config: { table: string }, crash: string) {
  const log = join(mkdtempSync(join(tmpdir(), 'baton-crash-')), 'crash.log');
  return {
    log,
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      BATON_TABLE: config.table,
      BATON_LEASE_MS: '3000',
      BATON_WATCHDOG_MS: '1000',
      BATON_CRASH: crash,
      BATON_CRASH_LOG: log,
      BATON_LOG_LEVEL: 'error',
    },
  };
}

/**
 * Each test waits up to 90 s for its crashing script and then up to 45 s for the survivors: under the
 * default 60 s test timeout a loaded machine failed them on the timeout, not on anything they check.
 */
const TIMEOUT = 180_000;

describe('crash in the middle of a scheduler tick', { timeout: TIMEOUT }, () => {
  it('the next ticks (two at once) create the missing runs and nothing twice', async () => {
    const clock = new Clock(Date.parse('2025-01-01T00:00:30Z'));
    const h = await clockHarness(clock);
    try {
      await putWorkflow(h, { name: 'cron', tasks: { t: { type: 'noop' } } });
      await ok(h, 'PUT', '/workflows/cron/schedules/s', { cron: '0 * * * *', misfirePolicy: 'all' }, 201);
      clock.set('2025-01-01T04:00:30Z'); // 01:00 .. 04:00 are due
      const { env, log } = crashEnv(h.config, 'after:create:RUN=1');
      const r = await runScript('./crash-tick.ts', { ...env, BATON_TEST_NOW: String(clock.t) });
      expect(killed(r), r.output).toBe(true);
      expect(readFileSync(log, 'utf8')).toContain('after:create:RUN');

      // Died after its first run and before advancing the schedule.
      const first = await runsOf(h, 'cron');
      expect(fireTimesOf(first)).toEqual(['2025-01-01T01:00:00.000Z']);
      expect((await getSchedule(h.runtime.deps.db, 'cron', 's'))?.lastFireTime).toBe(Date.parse('2025-01-01T00:00:30Z'));

      await Promise.all([schedulerTick(h.runtime.deps), schedulerTick(h.runtime.deps)]);
      await schedulerTick(h.runtime.deps);
      const runs = await runsOf(h, 'cron');
      expect(fireTimesOf(runs)).toEqual(['01', '02', '03', '04'].map((hh) => `2025-01-01T${hh}:00:00.000Z`));
      for (const run of runs) expect(run.runId).toBe(scheduleRunId('cron', 's', new Date(run.trigger.fireTime)));
      expect((await getSchedule(h.runtime.deps.db, 'cron', 's'))?.lastFireTime).toBe(clock.t);
    } finally {
      await h.stop();
    }
  });
});

describe('crash halfway through a backfill', { timeout: TIMEOUT }, () => {
  it.each([
    ['serial', { mode: 'serial' }, 5, 'after:backfill:2=1'],
    ['parallel', { mode: 'parallel', parallelism: 2 }, 6, 'after:backfill:3=1'],
  ])('%s: the master dies; a new one (and the retried request) finish it, one run per fire time', async (_, mode, total, crash) => {
    // The API only, in this process: the child process is the whole engine until it dies.
    const clock = new Clock(Date.now());
    const h = await clockHarness(clock, { roles: NO_ROLES, deps: { now: Date.now } }, { BATON_WATCHDOG_MS: '1000' });
    let h2: Awaited<ReturnType<typeof attachHarness>> | undefined;
    try {
      await putWorkflow(h, { name: 'fill', params: { day: { type: 'string' } }, tasks: { hold: { type: 'wait', duration: '200ms' } } });
      const body = {
        cron: '0 0 * * *',
        start: '2025-01-01T00:00:00Z',
        end: new Date(Date.parse('2025-01-01T00:00:00Z') + (total - 1) * 86_400_000).toISOString(),
        params: { day: '${schedule.date}' },
        ...mode,
      };
      const { env, log } = crashEnv(h.config, crash);
      const r = await runScript('./crash-backfill.ts', {
        ...env,
        BATON_TEST_WORKFLOW: 'fill',
        BATON_TEST_KEY: `key-${mode.mode}`,
        BATON_TEST_BACKFILL: JSON.stringify(body),
      });
      expect(killed(r), r.output).toBe(true);
      expect(readFileSync(log, 'utf8')).toContain(crash.split('=')[0]);
      const before = await runsOf(h, 'fill');
      expect(before.length).toBeGreaterThanOrEqual(Number(crash.split(':')[2]?.split('=')[0])); // died halfway
      expect(before.length).toBeLessThan(total);

      // A new engine over the same table, and the client retrying its request.
      await h.stop();
      h2 = attachHarness(h.config);
      const again = await ok(h2, 'POST', '/workflows/fill/backfills', body, 200, { 'Idempotency-Key': `key-${mode.mode}` });
      const done = await until(
        'the backfill to complete',
        async () => {
          const b = await ok(h2 as NonNullable<typeof h2>, 'GET', `/backfills/${again.backfillId}`);
          return b.status === 'completed' ? b : undefined;
        },
        45_000,
      );
      expect(done.progress).toMatchObject({ total, done: total, failed: 0, running: 0, remaining: 0 });
      const runs = await runsOf(h2, 'fill');
      expect(runs).toHaveLength(total);
      expect(new Set(fireTimesOf(runs)).size).toBe(total);
      expect(runs.every((run) => run.status === 'succeeded')).toBe(true);
    } finally {
      await (h2 ?? h).stop();
    }
  });
});
