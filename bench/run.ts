/**
 * `npm run bench [-- --quick] [-- --only=requests,overhead,throughput,failover]`; `--only=map,pool` runs
 * only the map shape and the pool shape of section 1 (the writes per map item and per pool slot).
 *
 * Measures what a task costs and how fast Baton moves, against DynamoDB Local started the way the
 * tests start it (or AWS_ENDPOINT_URL_DYNAMODB). Prints one report section by section, and keeps
 * bench/results/latest.txt (the report) and bench/results/latest.json (the figures) up to date after
 * every section. Never asserts on timing.
 */
import './lib/quiet.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { modelStart } from './aws-latency.js';
import { engineVersion, freshDynamo, machine, startDynamo, stopDynamo } from './lib/env.js';
import {
  costPerMillion,
  DDB_RRU_USD,
  DDB_WRU_USD,
  LAMBDA_ARM_GB_S_USD,
  LAMBDA_MEMORY_MB,
  LAMBDA_REQUEST_USD,
  MASTER_BILLED_MS,
  PRICES_LOOKED_UP,
  SFN_STANDARD_TRANSITION_USD,
  WORKER_BILLED_MS,
} from './prices.js';
import { f, pct, table, usd } from './report.js';
import { type Capacity, endpointCapacity, warmUp } from './suites/calibrate.js';
import { failover } from './suites/failover.js';
import { chainOverhead, type OverheadResult } from './suites/overhead.js';
import { poolCost, requestsPerTask, type ShapeResult, sweepCost } from './suites/requests.js';
import { type ThroughputResult, throughput } from './suites/throughput.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    /** Override the sizes of section 1 (e.g. `--sizes=10,100,1000` in a quick run). */
    sizes: { type: 'string' },
    /** Only these shapes in section 1: any of chain, fan, map. */
    shapes: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const only = new Set((values.only ?? 'requests,overhead,throughput,failover').split(','));
/** Sizes are picked to keep a full run near 10 minutes on a 2-core machine (longer when other work shares it). */
const plan = quick
  ? { sizes: [10, 100], countPollMs: 5, chain: 30, chainRepeats: 2, lowPoll: 5, runs: 10, perRun: 20, tpRepeats: 1, failRepeats: 2 }
  : { sizes: [10, 100, 1000], countPollMs: 5, chain: 50, chainRepeats: 3, lowPoll: 5, runs: 15, perRun: 20, tpRepeats: 3, failRepeats: 5 };

if (values.sizes) plan.sizes = values.sizes.split(',').map(Number);
const shapes = (values.shapes ?? 'chain,fan,map').split(',') as ('chain' | 'fan' | 'map')[];

const out: string[] = [];
const results: Record<string, unknown> = { date: new Date().toISOString(), mode: quick ? 'quick' : 'full', plan, loadStart: loadavg()[0] };
const say = (s = '') => {
  out.push(s);
  console.log(s);
};
const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);
function save() {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', `${json(results)}\n`);
  writeFileSync('bench/results/latest.txt', `${out.join('\n')}\n`);
}

/** JSON laid out the way the repository's formatter (Biome) lays it out, so `npm run lint` stays clean. */
function json(v: unknown, indent = ''): string {
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return `[${v.map((x) => JSON.stringify(x ?? null)).join(', ')}]`;
    return `[\n${v.map((x) => inner + json(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${json(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v ?? null);
}

async function main() {
  const started = Date.now();
  const dynamo = await startDynamo();
  // Never leave a DynamoDB Local behind, whatever ends this process.
  process.once('exit', () => void stopDynamo(true));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  try {
    const m = machine();
    results.machine = m;
    results.endpoint = dynamo.endpoint;
    results.engine = engineVersion();
    progress('warming up DynamoDB Local (JVM) and measuring what the endpoint sustains');
    await warmUp();
    const cap = await endpointCapacity();
    results.endpointCapacity = cap;
    say(`Baton benchmarks — ${new Date().toISOString()} — ${quick ? 'quick' : 'full'} run`);
    say(`engine: ${results.engine}`);
    say(`machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}`);
    say(`load average (1 min) at start: ${f(results.loadStart as number)} (other processes share these ${m.cpus} cores)`);
    say(`DynamoDB: ${dynamo.endpoint} (DynamoDB Local, ${m.dynamoDbLocal}, ${m.java}, in memory), after a warm-up`);
    say(
      `endpoint alone, ${cap.concurrency} concurrent clients: ${f(cap.writesPerSec, 0)} conditional puts/s of new items (stream + GSI), ${f(cap.readsPerSec, 0)} consistent gets/s`,
    );
    save();

    // Each section, and each row of sections 2 and 3, on a new warmed DynamoDB Local (`freshDynamo`):
    // the first instance has just been warmed; later ones would otherwise carry every table before them.
    let sections = 0;
    const fresh = async (what: string) => {
      if (sections++ === 0) return dynamo.endpoint;
      progress(`a new DynamoDB Local for ${what}, warmed up`);
      return freshDynamo(warmUp);
    };
    if (only.has('requests') || only.has('map')) {
      await fresh('section 1');
      const picked = only.has('requests') ? shapes : (['map'] as const);
      progress(`requests per task: ${picked.join(', ')} of ${plan.sizes.join(', ')} noops`);
      const req = await requestsPerTask(plan.sizes, plan.countPollMs, [...picked]);
      const sweep = await sweepCost();
      results.requests = req;
      results.sweep = sweep;
      sectionRequests(req, sweep);
      results.perMapItem = perMapItem(req);
      save();
    }
    if (only.has('requests') || only.has('pool')) {
      await fresh('the pool shape');
      progress('pool: a fan-out/fan-in of 22 noops whose 20 middle tasks share a pool of 2');
      const pool = await poolCost(22, 2, plan.countPollMs);
      results.pool = pool;
      results.perPoolSlot = { tasks: pool.tasks, slots: pool.slots, ...pool.perSlot, status: pool.status };
      say(
        `\n   pool shape (${pool.tasks} tasks, ${pool.slots} slots, run ${pool.status}): WRU per pooled task ${f(pool.wcuPerTask.plain)} without the pool, ${f(pool.wcuPerTask.pooled)} with it; one slot costs ${f(pool.perSlot.wcu)} WRU, ${f(pool.perSlot.rcu)} RRU, ${f(pool.perSlot.requests)} requests`,
      );
      for (const [op, s] of Object.entries(pool.poolOps)) say(`     ${op}: ${f(s.requests)} req / ${f(s.wcu)} WRU per pooled task`);
      save();
    }
    if (only.has('overhead')) {
      const over: OverheadResult[] = [];
      for (const poll of [undefined, plan.lowPoll]) {
        const endpoint = await fresh(`the critical path, poll idle ${poll ?? 'default'}`);
        progress(`critical path: chain of ${plan.chain} × ${plan.chainRepeats}, poll idle ${poll ?? 'default'}`);
        over.push({ ...(await chainOverhead(plan.chain, plan.chainRepeats, poll)), endpoint });
      }
      results.overhead = over;
      sectionOverhead(over);
      sectionAwsModel(over);
      save();
    }
    if (only.has('throughput')) {
      const tp: ThroughputResult[] = [];
      let tpCap: Capacity | undefined;
      for (const procs of [1, 2]) {
        const endpoint = await fresh(`throughput with ${procs} process(es)`);
        // The goal "one process ≥ 50% of the endpoint's put rate ÷ WRU per task" reads the rate of the
        // very instance the one process runs on, measured just before it.
        if (procs === 1) {
          progress("the endpoint's conditional-put rate, on the instance the 1-process row runs on");
          tpCap = await endpointCapacity();
          results.throughputEndpointCapacity = tpCap;
        }
        progress(`throughput: ${plan.runs} runs × ${plan.perRun} tasks × ${plan.tpRepeats}, ${procs} process(es)`);
        tp.push({ ...(await throughput(procs, plan.runs, plan.perRun, plan.tpRepeats)), endpoint });
        results.throughput = tp;
        save();
      }
      sectionThroughput(tp, tpCap ?? (results.endpointCapacity as Capacity | undefined));
      save();
    }
    if (only.has('failover')) {
      await fresh('failover');
      progress(`failover: SIGKILL the lease holder × ${plan.failRepeats}`);
      const fo = await failover(plan.failRepeats);
      results.failover = fo;
      say(
        `\n4. Failover: SIGKILL of the process holding an http attempt; lease ${fo.leaseMs} ms (heartbeat ${fo.heartbeatMs} ms), sweep every ${fo.sweepIntervalMs} ms; medians of ${fo.repeats}`,
      );
      say(
        table(
          [
            'kill → reclaim (next transition)',
            'kill → new holder calls out',
            'kill → run succeeded',
            'lease left at kill',
            'reclaim − lease expiry',
            'bound (lease + sweep)',
          ],
          [
            [
              `${f(fo.killToReclaimMs, 0)} ms`,
              `${f(fo.killToNextAttemptMs, 0)} ms`,
              `${f(fo.killToRunDoneMs, 0)} ms`,
              `${f(fo.leaseLeftMs, 0)} ms`,
              `${f(fo.afterExpiryMs, 0)} ms`,
              `${fo.boundMs} ms`,
            ],
          ],
          ['r', 'r', 'r', 'r', 'r', 'r'],
        ),
      );
      say(`   samples kill → reclaim: ${fo.samples.map((s) => s.reclaim).join(', ')} ms`);
      save();
    }
    if (results.requests) sectionCost(results.requests as ShapeResult[]);
    results.loadEnd = loadavg()[0];
    say(`\nload average (1 min) at end: ${f(results.loadEnd as number)}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  } finally {
    save();
    await stopDynamo();
  }
  progress('wrote bench/results/latest.json and bench/results/latest.txt');
}

/**
 * What one map item costs, at each size (the `map` shape: concurrency 10, noop items): write units
 * reported, failed conditional writes' estimated units apart, read units, requests. Printed, and kept
 * in latest.json as `perMapItem`.
 */
function perMapItem(req: ShapeResult[]) {
  const rows = req
    .filter((r) => r.shape === 'map')
    .map((r) => ({
      items: r.tasks,
      status: r.status,
      wru: r.perTask.wcu,
      estFailedWru: r.perTask.estWcu,
      rru: r.perTask.rcu,
      requests: r.perTask.requests,
      workerInvokes: r.perTask.workerInvokes,
    }));
  for (const r of rows)
    say(
      `\n   map shape, ${r.items} items (run ${r.status}): one map item costs ${f(r.wru)} WRU (+ ${f(r.estFailedWru)} est. failed-condition WRU), ${f(r.rru)} RRU, ${f(r.requests)} requests, ${f(r.workerInvokes)} worker invocations`,
    );
  return rows;
}

/** How a shape is named in the report (`map`: per-task figures are per map item). */
const shapeLabel = (s: ShapeResult['shape']) => (s === 'chain' ? 'chain' : s === 'fan' ? 'fan-out/in' : 'map (per item)');

function sectionRequests(req: ShapeResult[], sweep: Awaited<ReturnType<typeof sweepCost>>) {
  say(
    `\n1. DynamoDB per task, counted on the wire (engine + the API's run start; no periodic sweep, precise timers on; stream poll idle ${plan.countPollMs} ms). Target ≤ 4 WRU, ≤ 4 RRU, flat ±10%`,
  );
  say(
    table(
      [
        'shape',
        'tasks',
        'run ms',
        'req/task',
        'WRU/task',
        'of which GSI',
        '+ est. failed-cond WRU',
        'RRU/task',
        'WRU / RRU per added task',
        'worker inv/task',
        'master rec/task',
        'poller req/task (local)',
      ],
      req.map((r) => [
        shapeLabel(r.shape),
        r.tasks,
        r.ms,
        f(r.perTask.requests),
        f(r.perTask.wcu),
        f(r.perTask.gsiWcu),
        f(r.perTask.estWcu),
        f(r.perTask.rcu),
        r.perAddedTask ? `${f(r.perAddedTask.wcu)} / ${f(r.perAddedTask.rcu)}` : '',
        f(r.perTask.workerInvokes),
        f(r.perTask.masterRecords),
        f(r.plumbingPerTask.requests),
      ]),
    ),
  );
  for (const shape of ['chain', 'fan', 'map'] as const) {
    const rs = req.filter((r) => r.shape === shape);
    const w = (r: ShapeResult) => r.perTask.wcu + r.perTask.estWcu;
    const a = rs[0];
    for (const b of rs.slice(1)) {
      if (!a) continue;
      const added =
        a.perAddedTask && b.perAddedTask
          ? `; per added task: WRU ${pct(b.perAddedTask.wcu / a.perAddedTask.wcu - 1)}, RRU ${pct(b.perAddedTask.rcu / a.perAddedTask.rcu - 1)}`
          : '';
      say(
        `   ${shapeLabel(shape)} ${a.tasks}→${b.tasks}: WRU/task ${pct(w(b) / w(a) - 1)}, RRU/task ${pct(b.perTask.rcu / a.perTask.rcu - 1)}${added}`,
      );
    }
  }
  const refs = [
    ...new Set(req.filter((r) => r.perAddedTask).map((r) => `${shapeLabel(r.shape).trim()} ${r.perAddedTask?.referenceTasks}`)),
  ];
  if (refs.length)
    say(
      `   per added task = (units of the run − units of the shape's smallest run) ÷ (tasks − its tasks), smallest runs: ${refs.join(', ')}; the run's fixed cost (API put, start, end) cancels out of it, and is spread over the tasks in WRU/task`,
    );
  const failedRuns = req.filter((r) => r.status !== 'succeeded');
  if (failedRuns.length)
    say(`   NOTE: ${failedRuns.length} run(s) did not succeed: ${failedRuns.map((r) => `${r.shape}${r.tasks}=${r.status}`).join(', ')}`);
  say(
    `   per tick, not per task (idle table, ${sweep.shards} due-index shards): sweeper ${sweep.sweep.requests} Query / ${f(sweep.sweep.rcu)} RRU; scheduler ${sweep.scheduler.requests} Query / ${f(sweep.scheduler.rcu)} RRU`,
  );

  // Per operation kind, at the largest size of each shape.
  const big = ['chain', 'fan', 'map'].map((s) => req.filter((r) => r.shape === s).at(-1)).filter((r): r is ShapeResult => !!r);
  const ops = [...new Set(big.flatMap((r) => Object.keys(r.byOp)))].sort();
  say(`\n   per operation kind, per task: requests / WRU (+ est. failed-condition WRU) / RRU`);
  say(
    table(
      ['operation', ...big.map((r) => `${shapeLabel(r.shape)} ${r.tasks}`)],
      ops.map((op) => [
        op,
        ...big.map((r) => {
          const s = r.byOp[op];
          if (!s) return '';
          const est = s.estWcu ? ` (+${f(s.estWcu, 3)})` : '';
          return `${f(s.requests, 3)} / ${f(s.wcu, 3)}${est} / ${f(s.rcu, 3)}`;
        }),
      ]),
    ),
  );
}

function sectionCost(req: ShapeResult[]) {
  say(
    `\n5. Cost per million tasks at us-east-1 list prices (looked up ${PRICES_LOOKED_UP}; see bench/prices.ts): DynamoDB on-demand $${(DDB_WRU_USD * 1e6).toFixed(3)}/M WRU, $${(DDB_RRU_USD * 1e6).toFixed(3)}/M RRU; Lambda Arm $${(LAMBDA_REQUEST_USD * 1e6).toFixed(2)}/M requests, $${LAMBDA_ARM_GB_S_USD}/GB-s; stream reads by Lambda free`,
  );
  say(
    `   assumed: ${LAMBDA_MEMORY_MB} MB functions, ${WORKER_BILLED_MS} ms per worker and ${MASTER_BILLED_MS} ms per master invocation, one master invocation per relevant stream record (no batching: an upper bound); no SQS (noop tasks set no timers)`,
  );
  const costs = req.map((r) => ({
    r,
    c: costPerMillion({
      wcuPerTask: r.perTask.wcu + r.perTask.estWcu,
      rcuPerTask: r.perTask.rcu,
      workerInvokesPerTask: r.perTask.workerInvokes,
      masterInvokesPerTask: r.perTask.masterRecords,
    }),
  }));
  results.cost = costs.map(({ r, c }) => ({ shape: r.shape, tasks: r.tasks, ...c }));
  say(
    table(
      [
        'shape',
        'tasks',
        'DynamoDB',
        'Lambda requests',
        'Lambda GB-s',
        'Baton total',
        `Step Functions Standard (≥ 1 transition/task at $${(SFN_STANDARD_TRANSITION_USD * 1e6).toFixed(0)}/M)`,
      ],
      costs.map(({ r, c }) => [
        shapeLabel(r.shape),
        r.tasks,
        usd(c.dynamodb),
        usd(c.lambdaRequests),
        usd(c.lambdaDuration),
        usd(c.total),
        `≥ ${usd(c.stepFunctionsStandard)}`,
      ]),
    ),
  );
}

function sectionOverhead(over: OverheadResult[]) {
  say('\n2. Critical path: chain of noops, time per task ÷ one conditional write round trip (target ≤ 3×)');
  say(
    table(
      [
        'stream poll idle',
        'tasks × repeats',
        'ms/task (median; per repeat)',
        'cond. write RTT p50 / p90',
        'ratio',
        'created→1st queued',
        'queued→claimed',
        'claimed→done',
        'done→next queued',
      ],
      over.map((o) => [
        String(o.pollIdleMs),
        `${o.tasks} × ${o.repeats}`,
        `${f(o.msPerTask, 1)} (${o.perRepeat.map((x) => f(x, 1)).join(', ')})`,
        `${f(o.rtt.medianMs)} / ${f(o.rtt.p90Ms)} ms`,
        `${f(o.ratio, 1)}×`,
        `${f(o.segments.createdToFirstQueued, 1)} ms`,
        `${f(o.segments.queuedToClaimed, 1)} ms`,
        `${f(o.segments.claimedToDone, 1)} ms`,
        `${f(o.segments.doneToNextQueued, 1)} ms`,
      ]),
    ),
  );
  say(
    "   segments: medians of the task items' own timestamps. One step (inline advance, eager dispatch) = the worker's ending write ∥ its read of the run (a success under failureStrategy end; otherwise its claim's read is reused), then the next task's queue-and-claim write ∥ its run read (the claim window; a read after the claim only if the two answers took W/2); the master's re-processing of the record is off the path. created→1st queued: the run's start (its creator, here the API, queues the roots right after the put; before inline start the master did, from the creation's stream record).",
  );
}

function sectionAwsModel(over: OverheadResult[]) {
  const o = over[0];
  if (!o) return;
  const m = o.aws;
  const c = m.constants;
  results.awsModel = {
    chainTasks: o.tasks,
    perStepMs: m.batonMs,
    parts: m.batonParts,
    hops: m.hops,
    stepFunctionsStandardPerStepMs: m.sfnStandardMs,
    constants: c,
  };
  say('\n2b. Modelled AWS critical path of one chain step, from the hops counted above (constants and sources: bench/aws-latency.ts)');
  const actors = Object.entries(m.hops.byActor)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  say(
    table(
      ['', 'count per step', 'ms each', 'ms per step', 'source'],
      [
        [
          'stream hops (step queued by the master)',
          f(m.hops.streamHopsPerStep),
          f(c.STREAM_HOP?.ms ?? 0, 0),
          f(m.batonParts.stream, 1),
          'documented',
        ],
        [
          'Lambda async invokes of the worker',
          f(m.hops.invokesPerStep),
          f(c.LAMBDA_ASYNC_INVOKE?.ms ?? 0, 0),
          f(m.batonParts.invoke, 1),
          'assumed',
        ],
        [
          'DynamoDB requests (all, an upper bound)',
          f(m.hops.dynamodbRequestsPerStep),
          f(c.DYNAMODB_REQUEST?.ms ?? 0, 0),
          f(m.batonParts.dynamodb, 1),
          'documented',
        ],
        ['Baton, one step', '', '', f(m.batonMs, 1), ''],
        ['Step Functions Standard, one Task state (transition + invoke)', '', '', f(m.sfnStandardMs, 1), 'assumed'],
      ],
      ['l', 'r', 'r', 'r', 'l'],
    ),
  );
  say(`   steps queued by: ${actors} (the task item's promotedBy; absent counts as master, i.e. a stream hop)`);
  const start = m.hops.start;
  if (start) {
    const by = Object.entries(start.byActor)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    say(
      `   run start (creation → first task dispatched, not a step): first task queued by ${by}; ${f(start.streamHops)} stream hops per start; modelled ≈ ${f(modelStart(start), 0)} ms (stream hops + one invoke)`,
    );
  }
  say(
    `   a chain of ${o.tasks}: Baton ≈ ${f((m.batonMs * o.tasks) / 1000, 2)} s, Step Functions Standard ≈ ${f((m.sfnStandardMs * o.tasks) / 1000, 2)} s`,
  );
}

function sectionThroughput(tp: ThroughputResult[], cap?: { writesPerSec: number }) {
  say('\n3. Throughput: many runs in flight (fan-outs of noops), full runtime processes (master + worker + sweeper each)');
  say(
    table(
      [
        'processes',
        'runs × tasks',
        'repeats',
        'tasks/s (median)',
        'per repeat',
        'DynamoDB req/s',
        'req/task',
        'WRU/task (+est. failed)',
        'RRU/task',
        'failed cond/task',
        'failed runs',
      ],
      tp.map((t) => [
        t.processes,
        `${t.runs} × ${t.tasksPerRun}`,
        t.repeats,
        f(t.tasksPerSec, 1),
        t.perRepeat.map((x) => f(x, 1)).join(', '),
        f(t.tasksPerSec * t.reqPerTask, 0),
        f(t.reqPerTask),
        `${f(t.wcuPerTask)} (+${f(t.estWcuPerTask)})`,
        f(t.rcuPerTask),
        f(t.condFailedPerTask),
        t.failedRuns,
      ]),
    ),
  );
  say(
    '   work sharing: each process handles the stream records it owns and runs the jobs it owns (rendezvous hashing over the live members; functions/local/work-share.ts).',
  );
  for (const t of tp) {
    const ops = Object.entries(t.condFailedByOp ?? {}).sort((a, b) => b[1] - a[1]);
    say(
      `   failed conditional writes per task, ${t.processes} process(es): ${ops.map(([op, x]) => `${op} ${f(x, 3)}`).join('; ') || 'none'}`,
    );
  }
  for (const t of tp) {
    const c = t.cpu;
    const cores = (sec: number) => `${f(sec, 1)} s (${f(sec / c.wallSec, 2)} cores)`;
    const total = c.engineSec.reduce((a, b) => a + b, 0) + (Number.isNaN(c.dynamoSec) ? 0 : c.dynamoSec) + c.benchSec;
    say(
      `   CPU over the repeats, ${t.processes} process(es), ${f(c.wallSec, 1)} s wall: engine ${c.engineSec.map(cores).join(' + ')}; DynamoDB Local ${Number.isNaN(c.dynamoSec) ? 'not ours' : cores(c.dynamoSec)}; bench ${cores(c.benchSec)}; in all ${f(total / c.wallSec, 2)} of ${cpus().length} cores`,
    );
  }
  const one = tp.find((t) => t.processes === 1);
  const two = tp.find((t) => t.processes === 2);
  if (one && two) say(`   2 processes ÷ 1: ${f(two.tasksPerSec / one.tasksPerSec, 2)}× (target ≥ 1.6×)`);
  if (one && cap) {
    const ceiling = cap.writesPerSec / (one.wcuPerTask + one.estWcuPerTask);
    results.throughputCeiling = { writesPerSec: cap.writesPerSec, wcuPerTask: one.wcuPerTask + one.estWcuPerTask, tasksPerSec: ceiling };
    say(
      `   1 process: ${f(one.tasksPerSec, 1)} tasks/s = ${pct(one.tasksPerSec / ceiling)} of the endpoint's ${f(cap.writesPerSec, 0)} puts/s ÷ ${f(one.wcuPerTask + one.estWcuPerTask)} WRU/task = ${f(ceiling, 1)} tasks/s (target ≥ 50%)`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
