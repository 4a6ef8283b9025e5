import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { Engine } from '../lib/engine.js';
import { dynamoPid, median, newTable, sleep, waitRuns } from '../lib/env.js';
import { merge, totals } from '../lib/meter.js';
import { RuntimeProcess } from '../lib/procs.js';
import { fan } from '../lib/workflows.js';

export interface ThroughputResult {
  /** The DynamoDB endpoint this row ran on (each row gets a new DynamoDB Local; see `freshDynamo`). */
  endpoint?: string;
  processes: number;
  runs: number;
  tasksPerRun: number;
  repeats: number;
  /** Median over repeats: all tasks / (last run's endedAt − first start request). */
  tasksPerSec: number;
  perRepeat: number[];
  /** Billed write/read units per task summed over the processes (duplicate master work shows here). */
  reqPerTask: number;
  wcuPerTask: number;
  /** Estimated units of failed conditional writes (billed by AWS, not reported by DynamoDB). */
  estWcuPerTask: number;
  rcuPerTask: number;
  condFailedPerTask: number;
  /** Failed conditional writes per task by operation kind (the contention between processes, where it is). */
  condFailedByOp: Record<string, number>;
  failedRuns: number;
  /** CPU used over the repeats, by process: whether the machine's cores, not the engine, set the pace. */
  cpu: CpuWindow;
}

/**
 * (3) Throughput: `runs` fan-outs of `tasksPerRun` noops started at once, executed by `processes`
 * full runtimes (master + worker + sweeper each, every one reading the stream) that share the work
 * run by run (`functions/local/work-share.ts`; `BENCH_SHARE=0` makes them race instead). The bench
 * waits for the runs by polling their items every 500 ms: the figure comes from the runs' own
 * `endedAt`, so the poll only has to be cheap (one consistent BatchGet of 15 runs costs DynamoDB Local
 * about 10 ms of CPU; every 100 ms that was a tenth of a core taken from the engine it measures).
 */
export async function throughput(processes: number, runs: number, tasksPerRun: number, repeats: number): Promise<ThroughputResult> {
  const config = await newTable();
  const api = new Engine(config, { start: false });
  const procs = await Promise.all(Array.from({ length: processes }, () => RuntimeProcess.spawn({ BATON_TABLE: config.table })));
  try {
    const wf = `fan${tasksPerRun}`;
    await api.putWorkflow(fan(wf, tasksPerRun));
    // Warm-up: one run, so every process has compiled code and the definition cached.
    await waitRuns(config.table, [await api.startRun(wf)]);
    await sleep(300);
    const perRepeat: number[] = [];
    let failedRuns = 0;
    await Promise.all(procs.map((p) => p.reset()));
    api.meter.reset();
    const endCpu = cpuWindow(
      procs.map((p) => p.pid),
      dynamoPid(),
    );
    for (let r = 0; r < repeats; r++) {
      const t0 = Date.now();
      const ids = await Promise.all(Array.from({ length: runs }, () => api.startRun(wf)));
      const done = await waitRuns(config.table, ids, 600_000, 500);
      const end = Math.max(...done.map((d) => d.endedAt as number));
      failedRuns += done.filter((d) => d.status !== 'succeeded').length;
      perRepeat.push((runs * tasksPerRun) / ((end - t0) / 1000));
      await sleep(300);
    }
    const cpu = endCpu();
    const snap = merge(...(await Promise.all(procs.map((p) => p.stats()))), api.meter.snapshot());
    const t = totals(snap, ['engine', 'api']);
    const n = runs * tasksPerRun * repeats;
    const condFailedByOp: Record<string, number> = {};
    for (const [k, v] of Object.entries(snap.ops)) if (v.condFailed > 0) condFailedByOp[k.split('|')[1] ?? k] = v.condFailed / n;
    return {
      processes,
      runs,
      tasksPerRun,
      repeats,
      tasksPerSec: median(perRepeat),
      perRepeat,
      reqPerTask: t.requests / n,
      wcuPerTask: t.wcu / n,
      estWcuPerTask: t.estWcu / n,
      rcuPerTask: t.rcu / n,
      condFailedPerTask: t.condFailed / n,
      condFailedByOp,
      failedRuns,
      cpu,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await api.stop();
  }
}
