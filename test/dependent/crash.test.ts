import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, Cluster, checkInvariants, clusterEnv, configFor, entry, freshTable, scanTable, TERMINAL, waitFor } from '../crash/support.js';

/**
 * `dependent` tasks under SIGKILL: a real Baton process dies right after a waiter is filed or removed,
 * right after an attempt's executor returns, and right before a woken attempt is dispatched, and is
 * restarted (two deaths at most, then it runs calm). The backstop re-check is short here, so a wake-up
 * lost with a process is made up for. Afterwards every run has ended, every dependent task succeeded
 * once, naming the run of its own day, and the engine's invariants hold.
 */

let cluster: Cluster | undefined;
afterEach(async ({ task }) => {
  if (cluster && task.result?.state === 'fail') cluster.keep = true;
  await cluster?.stopAll();
  cluster = undefined;
});

const DAYS = ['d0', 'd1', 'd2', 'd3'];

describe('dependent tasks under SIGKILL', () => {
  it('processes killed around waiters and wake-ups: each task succeeds once, with its own day', { timeout: 240_000 }, async () => {
    const seed = Number(process.env.DEPENDENT_CRASH_SEED ?? Date.now()) >>> 0;
    console.info(`dependent crash test seed: ${seed} (replay with DEPENDENT_CRASH_SEED=${seed})`);
    const { endpoint, table } = await freshTable('dep');
    const env = clusterEnv(endpoint, table, { BATON_LEASE_MS: '2500', BATON_RECHECK_MS: '2000', BATON_CRASH_SEED: String(seed) });
    const c = new Cluster(table, env);
    cluster = c;
    const a = api(configFor(table, env));
    await entry();
    await a.put({ name: 'up', params: { day: { type: 'string', required: true } }, tasks: { t: { type: 'noop' } } });
    await a.put({
      name: 'down',
      params: { day: { type: 'string', required: true } },
      tasks: {
        dep: { type: 'dependent', workflow: 'up', params: { day: '${params.day}' } },
        use: { type: 'noop', after: 'dep', output: { upstream: '${tasks.dep.output.runId}' } },
      },
    });

    const proc = await c.add('crashy', 'master,worker,sweeper');
    const crashLog = join(c.dir, 'crashes.log');
    const crashEnv = {
      BATON_CRASH: 'after:create:WAIT=0.6,after:delete:WAIT=0.5,after:execute=0.15,before:dispatch=0.05',
      BATON_CRASH_LOG: crashLog,
    };
    let deaths = 0;
    let stopping = false;
    proc.whenExited((_pid, e) => {
      if (stopping || e.signal !== 'SIGKILL') return;
      deaths++;
      setTimeout(() => !stopping && !proc.alive && proc.start(deaths < 2 ? crashEnv : {}).catch(() => {}), 100);
    });
    await proc.start(crashEnv);

    const downs = new Map<string, string>();
    for (const d of DAYS) downs.set(d, await a.start('down', { day: d }));
    // Most downs are waiting (or about to) when their ups start; the last up starts first, so it may find its down still looking.
    const ups = new Map<string, string>();
    for (const d of [...DAYS].reverse()) ups.set(d, await a.start('up', { day: d }));

    const all = [...downs.values(), ...ups.values()];
    const ended = await waitFor(
      'every run to end',
      async () => {
        const rs = await Promise.all(all.map(async (r) => (await a.request('GET', `/runs/${r}`)).body));
        return rs.every((r) => TERMINAL.has(r?.status)) && rs;
      },
      200_000,
      200,
    );
    stopping = true;
    console.info(`crash points hit: ${readFileSync(crashLog, 'utf8').replace(/^\d+ /gm, '').trim().split('\n').join(', ')}`);
    expect(deaths).toBeGreaterThan(0); // the scenario did kill the process
    expect(ended.map((r: { status: string }) => r.status)).toEqual(all.map(() => 'succeeded'));
    for (const d of DAYS) {
      const run = ended.find((r: { runId: string }) => r.runId === downs.get(d));
      const dep = run.tasks.find((t: { name: string }) => t.name === 'dep');
      expect(dep.output, d).toMatchObject({ runId: ups.get(d), workflow: 'up', status: 'succeeded' });
      // Done once: one succeeded record (lost leases may add `lost` records before it, never a second success).
      expect(
        dep.attempts.filter((x: { status: string }) => x.status === 'succeeded'),
        d,
      ).toHaveLength(1);
      expect(run.output.use, d).toEqual({ upstream: ups.get(d) });
    }
    const report = checkInvariants(await scanTable(a.deps), { allTerminal: true });
    expect(report.violations).toEqual([]);
  });
});
