import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine } from '../lib/engine.js';
import { getItems, median, newTable, sleep, waitRuns } from '../lib/env.js';
import { RuntimeProcess } from '../lib/procs.js';
import { httpOne } from '../lib/workflows.js';

export interface FailoverResult {
  leaseMs: number;
  heartbeatMs: number;
  sweepIntervalMs: number;
  repeats: number;
  /** Medians over repeats, all measured from the SIGKILL. */
  killToReclaimMs: number;
  /** Until the re-queued attempt (new holder, new fence) calls the server again. */
  killToNextAttemptMs: number;
  killToRunDoneMs: number;
  /** Lease left at the kill (the lease's end − kill), and reclaim − the lease's end (the sweep's share). */
  leaseLeftMs: number;
  afterExpiryMs: number;
  /** Upper bound the design gives: a full lease plus one sweep interval. */
  boundMs: number;
  samples: { reclaim: number; nextAttempt: number; runDone: number; leaseLeft: number; afterExpiry: number }[];
}

/**
 * (4) Failover: two full runtime processes; a run whose one task is an `http` call to a server that
 * never answers its first call. The process holding the attempt (the task's lease owner) is killed
 * with SIGKILL; the survivor's sweeper must find the expired lease, record the loss and queue the
 * attempt again; its new holder calls again, and the server answers at once. The killed process is replaced before the next repeat.
 */
export async function failover(repeats: number, leaseMs = 2000, sweepIntervalMs = 500): Promise<FailoverResult> {
  const server = new SlowServer();
  const url = await server.listen();
  const env = { BATON_LEASE_MS: String(leaseMs), BATON_SWEEP_INTERVAL_MS: String(sweepIntervalMs) };
  const config = await newTable(env);
  const childEnv = { ...env, BATON_TABLE: config.table };
  const api = new Engine(config, { start: false });
  const procs = await Promise.all([RuntimeProcess.spawn(childEnv), RuntimeProcess.spawn(childEnv)]);
  const samples: FailoverResult['samples'] = [];
  try {
    await api.putWorkflow(httpOne('slow', `${url}/work`));
    for (let r = 0; r < repeats; r++) {
      const runId = await api.startRun('slow');
      await server.arrival(runId, 1, 30_000);
      const key = { pk: `RUN#${runId}`, sk: 'TASK#call' };
      const [before] = await getItems(config.table, [key]);
      const holder = procs.find((p) => p.workerId === before?.owner);
      if (!holder) throw new Error(`no process owns the attempt (owner ${before?.owner})`);
      const killedAt = Date.now();
      holder.kill();
      await holder.exited;
      await sleep(50);
      const [atKill] = await getItems(config.table, [key]);
      // The lease's end: the due time a heartbeat set, or, for an attempt still out of the due index (a
      // root or an inline-queued successor killed before its first heartbeat), the implicit lease from
      // its claim (`orchestrator/lease.ts`, `overdue.ts`).
      const dueAt = (atKill?.dueAt as number | undefined) ?? (atKill?.claimedAt as number) + leaseMs;
      // The next transition of the run: the sweeper records the attempt as lost and queues it again.
      let reclaimedAt: number | undefined;
      for (const end = Date.now() + 60_000; Date.now() < end && reclaimedAt === undefined; await sleep(10)) {
        const [t] = await getItems(config.table, [key]);
        const lost = (t?.attempts as { status: string; endedAt: number }[] | undefined)?.find((a) => a.status === 'lost');
        if (lost) reclaimedAt = lost.endedAt;
      }
      if (reclaimedAt === undefined) throw new Error('the attempt was not reclaimed within 60 s');
      const nextAt = await server.arrival(runId, 2, 60_000);
      const [run] = await waitRuns(config.table, [runId], 60_000, 10);
      samples.push({
        reclaim: reclaimedAt - killedAt,
        nextAttempt: nextAt - killedAt,
        runDone: (run!.endedAt as number) - killedAt,
        leaseLeft: dueAt - killedAt,
        afterExpiry: reclaimedAt - dueAt,
      });
      procs[procs.indexOf(holder)] = await RuntimeProcess.spawn(childEnv);
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await api.stop();
    await server.close();
  }
  const m = (f: keyof FailoverResult['samples'][number]) => median(samples.map((s) => s[f]));
  return {
    leaseMs,
    heartbeatMs: config.heartbeatMs,
    sweepIntervalMs,
    repeats,
    killToReclaimMs: m('reclaim'),
    killToNextAttemptMs: m('nextAttempt'),
    killToRunDoneMs: m('runDone'),
    leaseLeftMs: m('leaseLeft'),
    afterExpiryMs: m('afterExpiry'),
    boundMs: leaseMs + sweepIntervalMs,
    samples,
  };
}

/**
 * Holds the first call of every run open (never answers) and answers later calls at once. Calls are
 * counted per run, not per attempt number: a reclaimed attempt may keep its number and idempotency key.
 */
class SlowServer {
  private readonly server: Server;
  private readonly seen = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly held = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => {
      const runId = String(req.headers['idempotency-key'] ?? '').split('/')[0] ?? '';
      const nth = (this.calls.get(runId) ?? 0) + 1;
      this.calls.set(runId, nth);
      const k = `${runId}#${nth}`;
      const at = Date.now();
      this.seen.set(k, at);
      this.waiters.get(k)?.(at);
      if (nth === 1) {
        this.held.add(res);
        res.on('close', () => this.held.delete(res));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ call: nth }));
    });
  }

  listen(): Promise<string> {
    return new Promise((ok) =>
      this.server.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`)),
    );
  }

  /** When the `nth` call made for this run arrived (waits for it). */
  arrival(runId: string, nth: number, timeoutMs: number): Promise<number> {
    const k = `${runId}#${nth}`;
    const seen = this.seen.get(k);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`call ${nth} of ${runId} never reached the server`)), timeoutMs);
      this.waiters.set(k, (at) => {
        clearTimeout(t);
        this.waiters.delete(k);
        ok(at);
      });
    });
  }

  close(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}
