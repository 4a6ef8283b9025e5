import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkInvariants, scanTable, sleep, startCluster, stopClusters, TERMINAL, waitFor } from './support.js';

/**
 * A map under SIGKILL: real processes die right after the map's own writes (an item created, the
 * control item updated: a slot taken or given back, an item queued) and at random other points; new
 * processes take over. Every item's effect happens once (one idempotency key per item, which the
 * target would deduplicate on), never more than `concurrency` items call at once, and the run ends.
 */

stopClusters();

/** Records each call's item and idempotency key, and the most calls in progress at once. */
async function countingTarget() {
  const keys = new Map<number, Set<string>>();
  let active = 0;
  let max = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { i } = JSON.parse(Buffer.concat(chunks).toString()) as { i: number };
      const set = keys.get(i) ?? new Set();
      set.add(String(req.headers['idempotency-key']));
      keys.set(i, set);
      active++;
      max = Math.max(max, active);
      setTimeout(() => {
        active--;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ i }));
      }, 20);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    keys,
    max: () => max,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

describe('a map under SIGKILL', () => {
  it('processes die after map writes and at random: each item runs once (one idempotency key), concurrency holds, the run ends', async () => {
    // Losses are not capped here (BATON_MAX_LOST): a map attempt killed again and again must still finish, not fail as lost.
    const { cluster: c, api: a } = await startCluster({ BATON_RECHECK_MS: '1500', BATON_MAX_LOST: '100' });
    const target = await countingTarget();
    try {
      const n = 12;
      await a.put({
        name: 'crash-map',
        tasks: {
          list: { type: 'noop', output: Array.from({ length: n }, (_, i) => i) },
          each: {
            type: 'map',
            after: 'list',
            items: '${tasks.list.output}',
            concurrency: 3,
            task: { type: 'http', method: 'POST', url: `${target.url}/item`, body: { i: '${item}' } },
          },
          done: { type: 'noop', after: 'each', output: '${tasks.each.output}' },
        },
      });
      const crashLog = join(c.dir, 'crashes.log');
      const crash = {
        BATON_CRASH: 'after:create:ITEM=0.05,after:create:CTL=0.5,after:update:CTL=0.08,after:update:ITEM=0.04,*=0.005',
        BATON_CRASH_LOG: crashLog,
      };
      const procs = [await c.add('p1', 'master,worker,sweeper'), await c.add('p2', 'master,worker,sweeper')];
      for (const p of procs) await p.start(crash);
      const runId = await a.start('crash-map');
      let restarts = 0;
      const run = await waitFor(
        'the map run to finish',
        async () => {
          for (const p of procs) {
            if (p.alive) continue;
            restarts++;
            // Later incarnations die less often, so the run always gets to finish.
            await p.start(restarts < 8 ? crash : {});
          }
          const r = (await a.request('GET', `/runs/${runId}`)).body;
          return TERMINAL.has(r?.status) && r;
        },
        280_000,
        200,
      );
      await sleep(200);
      expect(existsSync(crashLog) ? readFileSync(crashLog, 'utf8').trim().split('\n').length : 0).toBeGreaterThan(0);
      expect(run.status, JSON.stringify(run.failure)).toBe('succeeded');
      const each = run.tasks.find((t: { name: string }) => t.name === 'each');
      expect(each.output).toEqual(Array.from({ length: n }, (_, i) => ({ i })));
      expect(each.map.counts).toMatchObject({ succeeded: n, failed: 0, active: 0, notStarted: 0 });
      // Each item's effect once: one idempotency key per item (a repeat after a kill reuses it).
      expect([...target.keys.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const [i, ks] of target.keys) expect(ks.size, `item ${i}: ${[...ks].join(', ')}`).toBe(1);
      expect(target.max()).toBeLessThanOrEqual(3);
      const items = await scanTable(a.deps);
      expect(checkInvariants(items, { allTerminal: true }).violations).toEqual([]);
      expect(items.filter((i) => i.kind === 'task' && String(i.name).startsWith('each@'))).toHaveLength(n);
    } finally {
      await target.close();
    }
  }, 330_000);
});
