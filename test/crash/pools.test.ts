import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { getPool } from '../../functions/store/pools.js';
import { checkInvariants, scanTable, startCluster, stopClusters, TERMINAL, waitFor } from './support.js';

/**
 * Pools under SIGKILL: real processes die right after pool writes land (a slot just taken, a grant,
 * a release) and right after a call while its slots are held, and are restarted; a loopback server
 * counts the calls in flight. Afterwards every run is terminal, no slot is held or waited for, and
 * the pool never let more calls run at once than it has slots.
 */

stopClusters();

describe('pools under SIGKILL', () => {
  it('processes killed while pool slots are held: no slot leaks, every run ends terminal, at most 2 calls at once', {
    timeout: 240_000,
  }, async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        active++;
        calls++;
        maxActive = Math.max(maxActive, active);
        setTimeout(() => {
          active--;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"ok":true}');
        }, 150);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/work`;
    try {
      // Leases well above the call's 150 ms, so that a continuation never overlaps its killed predecessor's call.
      const { cluster: c, api: a } = await startCluster({ BATON_LEASE_MS: '2500', BATON_RECHECK_MS: '1500' });
      expect((await a.request('PUT', '/pools/crashpool', { slots: 2 })).status).toBe(200);
      const tasks = (p: string) =>
        Object.fromEntries(
          ['a', 'b', 'c'].map((n) => [
            `${p}${n}`,
            { type: 'http', method: 'POST', url, pool: 'crashpool', retry: { attempts: 3, delay: '100ms' } },
          ]),
        );
      await a.put({ name: 'crash-one', tasks: tasks('x') });
      await a.put({ name: 'crash-two', tasks: tasks('y') });

      const crashy = await c.add('crashy', 'master,worker,sweeper');
      const calm = await c.add('calm', 'master,worker,sweeper');
      const crashEnv = { BATON_CRASH: 'after:update:POOL=0.25,after:execute=0.25' };
      let deaths = 0;
      let stopping = false;
      crashy.whenExited((_pid, e) => {
        if (stopping || e.signal !== 'SIGKILL') return;
        deaths++;
        // Keep crashing for a while, then let the survivor and a calm restart finish the work.
        setTimeout(() => !stopping && !crashy.alive && crashy.start(deaths < 3 ? crashEnv : {}).catch(() => {}), 100);
      });
      await Promise.all([crashy.start(crashEnv), calm.start()]);
      const runs = [await a.start('crash-one'), await a.start('crash-two')];
      const done = await waitFor(
        'every run to end',
        async () => {
          const rs = await Promise.all(runs.map(async (r) => (await a.request('GET', `/runs/${r}`)).body));
          return rs.every((r) => TERMINAL.has(r?.status)) && rs;
        },
        180_000,
        200,
      );
      // Slots held by attempts that died with their process are freed by the sweeper's pool check.
      const pool = await waitFor(
        'the pool to be idle',
        async () => {
          const p = await getPool(a.deps.db, 'crashpool');
          return p && p.inUse === 0 && p.holders === undefined && p.waiting === undefined && p;
        },
        30_000,
        200,
      );
      stopping = true;
      expect(pool.inUse).toBe(0);
      expect(deaths).toBeGreaterThan(0); // the scenario did kill processes
      expect(done.every((r: { status: string }) => TERMINAL.has(r.status))).toBe(true);
      expect(calls).toBeGreaterThanOrEqual(6);
      expect(maxActive).toBeLessThanOrEqual(2);
      const report = checkInvariants(await scanTable(a.deps), { allTerminal: true });
      expect(report.violations).toEqual([]);
    } finally {
      server.close();
    }
  });
});
