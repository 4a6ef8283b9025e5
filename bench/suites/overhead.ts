import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../functions/store/client.js';
import { type CountedHops, countChainHops, type ModelledStep, modelStep } from '../aws-latency.js';
import { Engine } from '../lib/engine.js';
import { median, newTable, percentile, rawClient, sleep, waitRuns } from '../lib/env.js';
import { totals } from '../lib/meter.js';
import { chain } from '../lib/workflows.js';

export interface RttResult {
  samples: number;
  medianMs: number;
  p90Ms: number;
}

/**
 * The round trip of one conditional write (UpdateItem with a condition, ReturnValues ALL_NEW, the
 * shape of every engine transition) to the same endpoint, on a client of the same configuration.
 */
export async function conditionalWriteRtt(table: string, samples = 200): Promise<RttResult> {
  const c = rawClient();
  const Key = { pk: { S: 'BENCH#rtt' }, sk: { S: 'RTT' } };
  await c.send(new PutItemCommand({ TableName: table, Item: { ...Key, n: { N: '0' } } }));
  const one = () =>
    c.send(
      new UpdateItemCommand({
        TableName: table,
        Key,
        UpdateExpression: 'SET n = n + :one',
        ConditionExpression: 'attribute_exists(pk) AND n >= :zero',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':zero': { N: '0' } },
        ReturnValues: 'ALL_NEW',
      }),
    );
  for (let i = 0; i < 20; i++) await one();
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await one();
    xs.push(performance.now() - t);
  }
  return { samples, medianMs: median(xs), p90Ms: percentile(xs, 90) };
}

export interface OverheadResult {
  /** The DynamoDB endpoint this row ran on (each row gets a new DynamoDB Local; see `freshDynamo`). */
  endpoint?: string;
  pollIdleMs: number | 'default (50)';
  tasks: number;
  repeats: number;
  /** Median over repeats of (run endedAt - createdAt) / tasks. */
  msPerTask: number;
  perRepeat: number[];
  rtt: RttResult;
  ratio: number;
  /**
   * Where the chain spends its time (medians over all repeats, or all tasks of all repeats), from the
   * run's and task items' own timestamps: created → first task queued (the API's inline start, or the
   * master's handling of the creation's record); queued → claimed (0 when one write queues and claims);
   * claimed → succeeded (the noop and its ending's write); succeeded → next queued (the inline advance).
   */
  segments: { createdToFirstQueued: number; queuedToClaimed: number; claimedToDone: number; doneToNextQueued: number };
  /** The modelled AWS critical path of one step, from the hops counted on these chains (see bench/aws-latency.ts). */
  aws: ModelledStep;
}

/** (2) Critical-path overhead: a chain of noops, time per task over one conditional write's round trip. */
export async function chainOverhead(tasks: number, repeats: number, pollIdleMs?: number): Promise<OverheadResult> {
  const config = await newTable();
  // Timed with the requests as the engine sends them: the capacity the meter asks for elsewhere
  // (`ReturnConsumedCapacity`, `ALL_OLD`) is work DynamoDB does not do in production, and the write the
  // ratio divides by (`conditionalWriteRtt`) asks for none either. Requests are still counted (2b).
  const engine = new Engine(config, { roles: { sweeper: false, scheduler: false }, pollIdleMs, capacity: false });
  try {
    const wf = `chain${tasks}`;
    await engine.putWorkflow(chain(wf, tasks));
    // Warm-up run: definition cache, JIT, connection pool.
    await waitRuns(config.table, [await engine.startRun(wf)]);
    const rtt = await conditionalWriteRtt(config.table);
    engine.meter.reset();
    const hops: CountedHops[] = [];
    const perRepeat: number[] = [];
    const seg = { s: [] as number[], a: [] as number[], b: [] as number[], c: [] as number[] };
    for (let r = 0; r < repeats; r++) {
      const runId = await engine.startRun(wf);
      const [run] = await waitRuns(config.table, [runId], 600_000, 20);
      perRepeat.push((run!.endedAt - run!.createdAt) / tasks);
      const items = await runTasks(config.table, runId);
      hops.push(countChainHops(items, 0));
      if (items[0]) seg.s.push(items[0].queuedAt - run!.createdAt);
      for (let i = 0; i < items.length; i++) {
        const t = items[i]!;
        seg.a.push(t.startedAt - t.queuedAt);
        seg.b.push(t.endedAt - t.startedAt);
        const next = items[i + 1];
        if (next) seg.c.push(next.queuedAt - t.endedAt);
      }
      await sleep(100);
    }
    const msPerTask = median(perRepeat);
    const engineRequestsPerTask = totals(engine.meter.snapshot(), ['engine']).requests / (tasks * repeats);
    return {
      pollIdleMs: pollIdleMs ?? 'default (50)',
      tasks,
      repeats,
      msPerTask,
      perRepeat,
      rtt,
      ratio: msPerTask / rtt.medianMs,
      segments: {
        createdToFirstQueued: median(seg.s),
        queuedToClaimed: median(seg.a),
        claimedToDone: median(seg.b),
        doneToNextQueued: median(seg.c),
      },
      aws: modelStep(mergeHops(hops, engineRequestsPerTask)),
    };
  } finally {
    await engine.stop();
  }
}

async function runTasks(table: string, runId: string): Promise<Record<string, any>[]> {
  const doc = documentClient(rawClient());
  const out: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const r = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :t)',
        ExpressionAttributeValues: { ':pk': `RUN#${runId}`, ':t': 'TASK#' },
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
}

/** The hops of several chains as one average per step (equal lengths), with the measured requests per task. */
function mergeHops(hops: CountedHops[], dynamodbRequestsPerStep: number): CountedHops {
  const n = Math.max(1, hops.length);
  const sum = (counts: (Record<string, number> | undefined)[]) => {
    const out: Record<string, number> = {};
    for (const c of counts) for (const [k, v] of Object.entries(c ?? {})) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    streamHopsPerStep: hops.reduce((a, h) => a + h.streamHopsPerStep, 0) / n,
    invokesPerStep: hops.reduce((a, h) => a + h.invokesPerStep, 0) / n,
    dynamodbRequestsPerStep,
    byActor: sum(hops.map((h) => h.byActor)),
    start: { byActor: sum(hops.map((h) => h.start?.byActor)), streamHops: hops.reduce((a, h) => a + (h.start?.streamHops ?? 0), 0) / n },
  };
}
