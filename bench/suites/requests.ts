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
  /**
   * What each task beyond the shape's smallest run costs: (units(n) − units(ref)) ÷ (n − ref), from a
   * run of `referenceTasks` tasks measured the same way. The run's own fixed cost (its start, its end,
   * the API's put) cancels out, so this is the figure that stays flat as runs grow; `perTask` divides
   * that fixed cost over n as well. Failed-condition WRU estimates are included in `wcu`.
   */
  perAddedTask?: { wcu: number; rcu: number; referenceTasks: number };
  /** Local-only: the stream poller's own requests per task, and stream records delivered per task. */
  plumbingPerTask: { requests: number; records: number };
  /** Per operation kind (engine + api), per task. */
  byOp: Record<string, OpStats>;
  raw: MeterSnapshot;
}

/**
 * The runtime while requests are counted: no scheduler, and the sweeper's periodic sweep out of the
 * window (it runs once at start, before counting; its cost is per tick, see `sweepCost`), but its
 * precise timers on: an attempt that suspends with an immediate wake-up (a pool grant or a map's last
 * item that arrived while it ran) is woken by one, and without them such a run never finishes.
 */
const COUNTING = { roles: { scheduler: false }, sweepIntervalMs: 3_600_000 } as const;

/**
 * (1) DynamoDB requests and capacity units per task, for a chain and a fan-out/fan-in of each
 * size, one run at a time in a fresh table so that every request counted belongs to that run.
 * The sweeper and the scheduler are off here (their cost is per tick, not per task; see `sweepCost`).
 */
export async function requestsPerTask(
  sizes: number[],
  pollIdleMs?: number,
  shapes: readonly ShapeResult['shape'][] = ['chain', 'fan', 'map'],
): Promise<ShapeResult[]> {
  const out: ShapeResult[] = [];
  for (const shape of shapes) {
    const ref = await measureRun(shape, REFERENCE[shape], pollIdleMs);
    const units = (r: ShapeResult) => ({ wcu: (r.perTask.wcu + r.perTask.estWcu) * r.tasks, rcu: r.perTask.rcu * r.tasks });
    for (const n of sizes) {
      const r = await measureRun(shape, n, pollIdleMs);
      if (n > ref.tasks) {
        const [a, b] = [units(ref), units(r)];
        r.perAddedTask = { wcu: (b.wcu - a.wcu) / (n - ref.tasks), rcu: (b.rcu - a.rcu) / (n - ref.tasks), referenceTasks: ref.tasks };
      }
      out.push(r);
    }
  }
  return out;
}

/** The smallest run of each shape: the reference that `perAddedTask` subtracts. */
const REFERENCE: Record<ShapeResult['shape'], number> = { chain: 2, fan: 3, map: 1 };

/** One run of `shape` with `n` tasks, alone in a fresh table, every request it makes counted. */
async function measureRun(shape: ShapeResult['shape'], n: number, pollIdleMs?: number): Promise<ShapeResult> {
  const config = await newTable();
  const engine = new Engine(config, { ...COUNTING, pollIdleMs });
  try {
    const wf = `${shape}${n}`;
    await engine.putWorkflow(shape === 'chain' ? chain(wf, n) : shape === 'fan' ? fan(wf, n) : mapOf(wf, n));
    await sleep(300); // let the poller see the definition's records before counting
    engine.meter.reset();
    const runId = await engine.startRun(wf);
    const [run] = await waitRuns(config.table, [runId]);
    await sleep(300); // requests still in flight for the last records
    return summarise(shape, n, run!, engine.meter.snapshot());
  } finally {
    await engine.stop();
  }
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

export interface PoolCost {
  /** Pooled tasks in the run (the fan's middle), and the pool's size. */
  tasks: number;
  slots: number;
  /** Write units (with estimated failed-condition units) per pooled task, with and without the pool. */
  wcuPerTask: { plain: number; pooled: number };
  /** What one slot costs (acquire or wait + grant, release, pumps), per pooled task: the difference. */
  perSlot: { wcu: number; rcu: number; requests: number };
  /** Requests on the pool item, per pooled task, by operation. */
  poolOps: Record<string, OpStats>;
  status: string;
}

/**
 * (1b) The `pool` shape: a fan-out/fan-in of `n` noop tasks whose `n - 2` middle tasks share a pool of
 * `slots`, measured against the same fan without a pool, in fresh tables. The difference per middle
 * task is what a pool slot costs, contention included (most tasks wait in the line and are woken).
 */
export async function poolCost(n: number, slots = 2, pollIdleMs?: number): Promise<PoolCost> {
  const measure = async (pooled: boolean) => {
    const config = await newTable();
    const engine = new Engine(config, { ...COUNTING, pollIdleMs });
    try {
      const def = fan(`pool${n}`, n);
      const tasks = def.tasks as Record<string, Record<string, unknown>>;
      if (pooled) {
        for (const [k, t] of Object.entries(tasks)) if (k !== 'root' && k !== 'join') t.pool = 'bench';
        const res = await engine.app.request('/pools/bench', {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ slots }),
        });
        if (res.status !== 200) throw new Error(`PUT /pools/bench: ${res.status} ${await res.text()}`);
      }
      await engine.putWorkflow(def);
      await sleep(300);
      engine.meter.reset();
      const runId = await engine.startRun(def.name);
      const [run] = await waitRuns(config.table, [runId]);
      await sleep(300);
      return summarise('fan', n, run!, engine.meter.snapshot());
    } finally {
      await engine.stop();
    }
  };
  const plain = await measure(false);
  const pooled = await measure(true);
  const mid = n - 2;
  const w = (r: ShapeResult) => (r.perTask.wcu + r.perTask.estWcu) * n;
  const poolOps: Record<string, OpStats> = {};
  for (const [op, s] of Object.entries(pooled.byOp)) if (op.includes('POOL')) poolOps[op] = scale(s, n / mid);
  return {
    tasks: mid,
    slots,
    wcuPerTask: { plain: w(plain) / mid, pooled: w(pooled) / mid },
    perSlot: {
      wcu: (w(pooled) - w(plain)) / mid,
      rcu: ((pooled.perTask.rcu - plain.perTask.rcu) * n) / mid,
      requests: ((pooled.perTask.requests - plain.perTask.requests) * n) / mid,
    },
    poolOps,
    status: pooled.status,
  };
}
