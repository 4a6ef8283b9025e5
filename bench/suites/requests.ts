import { schedulerTick } from '../../functions/orchestrator/scheduler.js';
import { Engine } from '../lib/engine.js';
import { newTable, sleep, waitRuns } from '../lib/env.js';
import { type MeterSnapshot, type OpStats, totals } from '../lib/meter.js';
import { chain, fan, mapOf } from '../lib/workflows.js';

export interface ShapeResult {
  /** `map`: one map task over `tasks` items; its per-task figures are per map item. */
  shape: 'chain' | 'fan' | 'map';
  tasks: number;
  /** Run wall time from the run's createdAt to its endedAt (engine timestamps). */
  ms: number;
  status: string;
  /** Per task: engine + API requests and units (what AWS would bill). */
  perTask: {
    requests: number;
    wcu: number;
    /** Of which GSI write units. */
    gsiWcu: number;
    /** Estimated units of failed conditional writes (not reported by DynamoDB). */
    estWcu: number;
    rcu: number;
    condFailed: number;
    /** Worker invocations (successful claims; one async Lambda invoke each). */
    workerInvokes: number;
    /** Stream records the master acts on (an upper bound on master Lambda invocations). */
    masterRecords: number;
  };
  /** Local-only: the stream poller's own requests per task, and stream records delivered per task. */
  plumbingPerTask: { requests: number; records: number };
  /** Per operation kind (engine + api), per task. */
  byOp: Record<string, OpStats>;
  raw: MeterSnapshot;
}

/**
 * (1) DynamoDB requests and capacity units per task, for a chain and a fan-out/fan-in of each
 * size, one run at a time in a fresh table so that every request counted belongs to that run.
 * The sweeper and the scheduler are off here (their cost is per tick, not per task; see `sweepCost`).
 */
export async function requestsPerTask(sizes: number[], pollIdleMs?: number): Promise<ShapeResult[]> {
  const out: ShapeResult[] = [];
  for (const shape of ['chain', 'fan', 'map'] as const) {
    for (const n of sizes) {
      const config = await newTable();
      const engine = new Engine(config, { roles: { sweeper: false, scheduler: false }, pollIdleMs });
      try {
        const wf = `${shape}${n}`;
        await engine.putWorkflow(shape === 'chain' ? chain(wf, n) : shape === 'fan' ? fan(wf, n) : mapOf(wf, n));
        await sleep(300); // let the poller see the definition's records before counting
        engine.meter.reset();
        const runId = await engine.startRun(wf);
        const [run] = await waitRuns(config.table, [runId]);
        await sleep(300); // requests still in flight for the last records
        const snap = engine.meter.snapshot();
        out.push(summarise(shape, n, run!, snap));
      } finally {
        await engine.stop();
      }
    }
  }
  return out;
}

function summarise(shape: ShapeResult['shape'], n: number, run: Record<string, any>, snap: MeterSnapshot): ShapeResult {
  const billed = totals(snap, ['engine', 'api']);
  const plumbing = totals(snap, ['plumbing']);
  const streamCalls = Object.values(snap.stream.calls).reduce((a, b) => a + b, 0);
  const claims = snap.ops['engine|UpdateItem TASK →running'];
  const byOp: Record<string, OpStats> = {};
  for (const [k, v] of Object.entries(snap.ops)) {
    const [group, op] = k.split('|') as [string, string];
    if (group === 'plumbing') continue;
    byOp[`${group === 'api' ? 'api: ' : ''}${op}`] = scale(v, 1 / n);
  }
  return {
    shape,
    tasks: n,
    ms: run.endedAt - run.createdAt,
    status: run.status,
    perTask: {
      requests: billed.requests / n,
      wcu: billed.wcu / n,
      gsiWcu: billed.gsiWcu / n,
      estWcu: billed.estWcu / n,
      rcu: billed.rcu / n,
      condFailed: billed.condFailed / n,
      workerInvokes: claims ? (claims.requests - claims.condFailed) / n : 0,
      masterRecords: snap.stream.relevant / n,
    },
    plumbingPerTask: { requests: (plumbing.requests + streamCalls) / n, records: snap.stream.records / n },
    byOp,
    raw: snap,
  };
}

function scale(s: OpStats, f: number): OpStats {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v * f])) as unknown as OpStats;
}

/** The sweeper's and the scheduler's cost per tick on an idle table: Queries of the due index's shards. */
export async function sweepCost(): Promise<{ sweep: TickCost; scheduler: TickCost; shards: number }> {
  const config = await newTable();
  const engine = new Engine(config, { start: false });
  const tick = async (fn: () => Promise<unknown>): Promise<TickCost> => {
    engine.meter.reset();
    await fn();
    const t = totals(engine.meter.snapshot());
    return { requests: t.requests, rcu: t.rcu };
  };
  try {
    return {
      sweep: await tick(() => engine.runtime.sweepNow()),
      scheduler: await tick(() => schedulerTick(engine.runtime.deps)),
      shards: config.dueShards,
    };
  } finally {
    await engine.stop();
  }
}

export interface TickCost {
  requests: number;
  rcu: number;
}
