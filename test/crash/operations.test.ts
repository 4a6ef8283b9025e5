import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { checkInvariants, type Item, scanTable, sleep, startCluster, stopClusters, TERMINAL, waitFor } from './support.js';

/**
 * Day-2 operations under crashes: pause, resume, recover, mark success and cancel are issued at random
 * moments while two Baton processes run the work and are SIGKILLed and restarted. Then the table must
 * show: the failover invariants (one child per attempt, no task succeeded twice, one outcome per
 * attempt and lease), every run terminal, no attempt claimed while its run was paused, and no recovered
 * run re-running a succeeded task outside its recovered set. CRASH_OPS_SEED replays a run of choices.
 */
describe('operations at random moments under SIGKILL', () => {
  stopClusters('all');
  let server: Server | undefined;
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('keeps every invariant', async () => {
    const initialSeed = Number(process.env.CRASH_OPS_SEED ?? Date.now() % 100_000);
    let seed = initialSeed;
    console.log(`operations crash test seed ${seed}`);
    try {
      await exercise();
    } catch (err) {
      // The seed is in the failure itself, not only in a log line a reporter may drop.
      throw new Error(`${(err as Error).message}\n(replay with CRASH_OPS_SEED=${initialSeed})`, { cause: err });
    }

    async function exercise() {
      const rand = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

      // The target fails attempt 1 of task b (so runs fail and get recovered) and answers after a moment.
      server = createServer((req, res) => {
        const key = String(req.headers['idempotency-key'] ?? '');
        const attempt = Number(key.split('/')[2]);
        const status = req.url === '/b' && attempt === 1 ? 500 : 200;
        setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}'), 20 + Math.random() * 150);
      });
      await new Promise<void>((ok) => server?.listen(0, '127.0.0.1', ok));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

      const { cluster, api: a } = await startCluster({}, 'ops');
      await a.put({
        name: 'ops',
        tasks: {
          a: { type: 'http', url: `${url}/a` },
          b: { type: 'http', url: `${url}/b`, after: ['a'] },
          // Long enough that runs stay active while operations are issued (a pause needs a running run).
          w: { type: 'wait', duration: '4s', after: ['a'] },
          c: { type: 'http', url: `${url}/c`, after: ['b'] },
          d: { type: 'noop', after: ['c', 'w'] },
        },
      });
      const procs = await Promise.all([cluster.add('p1', 'master,worker,sweeper'), cluster.add('p2', 'master,worker,sweeper')]);
      await Promise.all(procs.map((p) => p.start()));
      const runIds = await Promise.all(Array.from({ length: 4 }, () => a.start('ops')));

      /** Per run: the intervals during which it was paused, from the 202 of pause to the request that ended it. */
      const paused = new Map<string, { from: number; to: number }[]>();
      const open = new Map<string, number>();
      const closePause = (runId: string, to = Date.now()) => {
        const from = open.get(runId);
        if (from === undefined) return;
        open.delete(runId);
        paused.set(runId, [...(paused.get(runId) ?? []), { from, to }]);
      };
      const recovered = new Set<string>();
      const counts: Record<string, number> = {};
      let driving = true;

      const killer = (async () => {
        while (driving) {
          await sleep(1200 + rand() * 800);
          const p = pick(procs);
          await p.kill();
          await p.start();
          counts.kill = (counts.kill ?? 0) + 1;
        }
      })();
      const end = Date.now() + 12_000;
      while (Date.now() < end) {
        await sleep(100 + rand() * 250);
        const runId = pick(runIds);
        const op = pick(['pause', 'pause', 'resume', 'cancel', 'complete', 'recover', 'recover'] as const);
        if (op === 'cancel' && rand() < 0.6) continue; // cancel ends a run: keep it rarer
        if (op === 'resume' || op === 'cancel') closePause(runId);
        const issuedAt = Date.now();
        const r =
          op === 'complete'
            ? await a.request('POST', `/runs/${runId}/tasks/${pick(['a', 'b', 'c'])}/complete`, { output: { ok: 'marked' } })
            : op === 'recover' && recovered.has(runId)
              ? undefined
              : await a.request('POST', `/runs/${runId}/${op}`);
        if (!r) continue;
        counts[`${op} ${r.status}`] = (counts[`${op} ${r.status}`] ?? 0) + 1;
        expect(r.status, `${op} ${runId}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
        if (r.status < 300) counts[op] = (counts[op] ?? 0) + 1;
        if (op === 'pause' && r.status === 202) open.set(runId, Date.now());
        if (op === 'recover' && r.status === 202) {
          // Only an ended run can be recovered, so a pause still open here ended with the run (a paused run
          // whose last task ends finishes): the attempts the recovery starts are not work done while paused.
          closePause(runId, issuedAt);
          recovered.add(runId);
        }
      }
      driving = false;
      await killer;
      for (const runId of runIds) {
        closePause(runId);
        await a.request('POST', `/runs/${runId}/resume`);
      }
      console.log('operations issued', counts);
      const statuses = async () => Promise.all(runIds.map(async (r) => (await a.request('GET', `/runs/${r}`)).body.status as string));
      try {
        await waitFor('every run to end', async () => (await statuses()).every((s) => TERMINAL.has(s)), 90_000, 200);
      } catch (err) {
        cluster.keep = true;
        throw new Error(`${(err as Error).message}: ${JSON.stringify(await statuses())}`);
      }

      const items = await scanTable(a.deps);
      const report = checkInvariants(items, { allTerminal: true });
      const v = [...report.violations];
      const runs = new Map(items.filter((i) => i.kind === 'run').map((r) => [r.runId as string, r]));
      for (const t of items.filter((i) => i.kind === 'task') as Item[]) {
        // Leases that ran (ended succeeded or failed). A worker claims first and reads the run right after: that
        // read decides (paused: the attempt goes back, held). It happened between the record's `claimedAt` and
        // `confirmedAt`; only a read wholly inside a pause (after its 202, before its resume was asked) ran
        // while paused. One SIGKILLed between the claim and the read leaves a claim that never ran, which the
        // sweeper records as `lost`: not work done while paused. (The attempt's `startedAt` is its first claim,
        // kept across a lost lease, so it is not the measure: CI failed on it, seed 92690.) A lease confirmed
        // through the claim window (`windowed`) read the run at most W/2 before its claim landed: `claimedAt`
        // is when both were sent, `confirmedAt` when both answers were in.
        const leases = (t.attempts ?? []).filter((x: Item) => x.status !== 'lost' && !x.marked) as Item[];
        for (const w of paused.get(t.runId) ?? []) {
          for (const x of leases) {
            const from = x.claimedAt ?? x.startedAt;
            const to = x.confirmedAt ?? from;
            if (typeof from !== 'number' || typeof to !== 'number') continue;
            if (from > w.from && to < w.to)
              v.push(`${t.runId}/${t.name}: attempt ${x.attempt} began in ${from}..${to}, while paused (${w.from}..${w.to})`);
            // A lease confirmed through the claim window (its run read sent with its claim, both answers in
            // within W/2: orchestrator/claim-window.ts) may have claimed after the pause landed, but then
            // before the pause answered (it waits W): confirmed before the 202, never after it.
            if (x.windowed === true && from < w.from && to >= w.from)
              v.push(`${t.runId}/${t.name}: attempt ${x.attempt} confirmed by the window at ${to}, after the pause returned (${w.from})`);
          }
        }
        const rec = runs.get(t.runId)?.recovery;
        if (rec && !rec.tasks.includes(t.name)) {
          const again = (t.attempts ?? []).filter((x: Item) => (x.startedAt ?? 0) > rec.at);
          if (again.length > 0) v.push(`${t.runId}/${t.name}: outside recovery ${rec.n} ${JSON.stringify(rec.tasks)} but ran again`);
        }
      }
      expect(v).toEqual([]);
      expect(counts.pause ?? 0).toBeGreaterThan(0);
      expect(counts.kill ?? 0).toBeGreaterThan(0);
    }
  }, 200_000);
});
