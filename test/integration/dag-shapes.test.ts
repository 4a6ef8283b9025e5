import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { type Harness, startHarness } from '../support/harness.js';

/** Counts every DynamoDB request the runtime's client makes (the document client goes through it), by command. */
let counters = 0;
/**
 * Counts every DynamoDB request the runtime's client makes (the document client goes through it), by
 * command; queries are split by index, so the sweeper's periodic scans of the due index show apart.
 */
function countRequests(h: Harness) {
  const counts: Record<string, number> = {};
  let on = false;
  h.runtime.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (on) {
        const input = args.input as { IndexName?: string };
        const k = `${context.commandName}${input.IndexName ? `(${input.IndexName})` : ''}`;
        counts[k] = (counts[k] ?? 0) + 1;
      }
      return next(args);
    },
    { step: 'initialize', name: `batonTestRequestCounter${counters++}` },
  );
  return {
    start: () => {
      on = true;
    },
    stop: () => {
      on = false;
      return { ...counts };
    },
  };
}

/** Waits for a run to end by reading its item with a client of its own, so that waiting costs the runtime nothing. */
async function waitQuietly(h: Harness, runId: string, timeoutMs: number): Promise<string> {
  const doc = documentClient(dynamoClient());
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await doc.send(new GetCommand({ TableName: h.config.table, Key: { pk: `RUN#${runId}`, sk: 'RUN' } }));
    const status = r.Item?.status as string;
    if (status === 'succeeded' || status === 'failed') return status;
    if (Date.now() > end) return status;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * Length of the long chain. 300 in `npm test` (the request count per task is what is checked, and it is
 * flat in the length); `DAG_CHAIN=1000` runs the long one by hand, and `npm run bench` measures 1,000.
 */
const CHAIN = Number(process.env.DAG_CHAIN ?? 300);

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

const chain = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `t${i}`,
      i === 0 ? { type: 'noop', output: { i: 0 } } : { type: 'noop', after: [`t${i - 1}`], output: { i } },
    ]),
  );

describe('DAG shapes', () => {
  let h: Harness;
  beforeAll(async () => {
    // A long lease: under load, attempts not claimed within the lease are re-dispatched, which is correct
    // but adds requests that would blur the fan-out's cost count.
    // A long watchdog too: its whole-run check is a query that the cost assertions would have to allow for.
    h = await startHarness({ BATON_LEASE_MS: '15000', BATON_WATCHDOG_MS: '60000' });
  });
  afterAll(() => h.stop());

  it('runs a chain of 20 in order', async () => {
    const put = await h.request('PUT', '/workflows/chain20', { name: 'chain20', tasks: chain(20) });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', '/workflows/chain20/runs', {});
    expect(start.status).toBe(201);
    const run = await h.waitForRun(start.body.runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.tasks).toHaveLength(20);
    for (const t of run.tasks) {
      expect(t.status).toBe('succeeded');
      expect(t.attempt).toBe(1);
      expect(t.attempts).toHaveLength(1);
    }
    // Each task started only after its predecessor ended.
    for (let i = 1; i < 20; i++) {
      const prev = run.tasks.find((t: any) => t.name === `t${i - 1}`);
      const cur = run.tasks.find((t: any) => t.name === `t${i}`);
      expect(Date.parse(cur.startedAt)).toBeGreaterThanOrEqual(Date.parse(prev.endedAt));
    }
    expect(run.output).toEqual({ t19: { i: 19 } });
  });

  it('fans out to 100 parallel tasks and joins them; the join sees every output', async () => {
    const tasks: Record<string, unknown> = { root: { type: 'noop', output: { seed: 7 } } };
    const seen: Record<string, string> = {};
    for (let i = 0; i < 100; i++) {
      tasks[`p${i}`] = { type: 'noop', after: ['root'], output: { i, seed: '${tasks.root.output.seed}' } };
      seen[`p${i}`] = `\${tasks.p${i}.output.i}`;
    }
    tasks.join = { type: 'noop', after: Array.from({ length: 100 }, (_, i) => `p${i}`), output: seen };
    const put = await h.request('PUT', '/workflows/fan100', { name: 'fan100', tasks });
    expect(put.status, JSON.stringify(put.body)).toBe(201);

    const counter = countRequests(h);
    const t0 = Date.now();
    counter.start();
    const start = await h.request('POST', '/workflows/fan100/runs', {});
    expect(start.status).toBe(201);
    expect(await waitQuietly(h, start.body.runId, 60_000)).toBe('succeeded');
    const elapsed = Date.now() - t0;
    // Let the last stream events (the run's own finish) drain before reading the counter.
    await new Promise((r) => setTimeout(r, 500));
    const counts = counter.stop();
    const background = Object.entries(counts)
      .filter(([k]) => k.includes('(due)'))
      .reduce((a, [, v]) => a + v, 0);
    console.log(
      `[fan-out 100] ${elapsed} ms; DynamoDB requests: ${total(counts)} (${total(counts) - background} by the run, ` +
        `${background} by the periodic sweeper)`,
      counts,
    );
    // The scaling rule: finishing a task touches it and its direct successors, never a scan of the run.
    // Measured without contention: 1082 requests (661 GetItem, 112 PutItem, 308 UpdateItem, 1 Query).
    // Workers advance the run inline and the master re-reads each ending's successors before writing
    // (reads instead of failed writes: 819 requests before inline advance, 102 more puts than now with a
    // plain race). The bound is about scaling, not tuning: a task that read its run's other tasks would
    // cost 100 reads or more per task here (over 10,000 in all); heartbeats and re-dispatches on a loaded
    // machine add to the 10.6 per task measured quiet (13.6 seen in a loaded full-suite run).
    // Queries are run-level, never per task: the definition, the run's finish, and on a slow machine a
    // watchdog or timer look at the run (4 seen in a full-suite run at load 15). A per-task query of
    // the run's tasks would make 100 or more here.
    expect(counts.QueryCommand ?? 0).toBeLessThanOrEqual(10);
    expect(total(counts) - background).toBeLessThan(102 * 20);
    const run = (await h.request('GET', `/runs/${start.body.runId}`)).body;
    expect(run.status).toBe('succeeded');
    expect(run.tasks).toHaveLength(102);
    expect(run.tasks.filter((t: any) => t.status === 'succeeded')).toHaveLength(102);
    const join = run.tasks.find((t: any) => t.name === 'join');
    expect(join.attempt).toBe(1);
    expect(Object.keys(join.output)).toHaveLength(100);
    for (let i = 0; i < 100; i++) expect(join.output[`p${i}`]).toBe(i);
    const p5 = run.tasks.find((t: any) => t.name === 'p5');
    expect(p5.output).toEqual({ i: 5, seed: 7 });
    // The join started once, after the last parallel task ended.
    const lastEnd = Math.max(...run.tasks.filter((t: any) => t.name.startsWith('p')).map((t: any) => Date.parse(t.endedAt)));
    expect(Date.parse(join.startedAt)).toBeGreaterThanOrEqual(lastEnd);
    expect(run.output).toEqual({ join: join.output });
  });

  it(`runs a ${CHAIN}-task chain with a flat number of requests per task`, async () => {
    const put = await h.request('PUT', '/workflows/chainlong', { name: 'chainlong', tasks: chain(CHAIN) });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const counter = countRequests(h);
    const t0 = Date.now();
    counter.start();
    const start = await h.request('POST', '/workflows/chainlong/runs', {});
    expect(start.status).toBe(201);
    const status = await waitQuietly(h, start.body.runId, 170_000);
    const elapsed = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
    const counts = counter.stop();
    console.log(`[chain ${CHAIN}] ${elapsed} ms (${(elapsed / 1000).toFixed(1)} ms per task); DynamoDB requests: ${total(counts)}`, counts);
    expect(status).toBe('succeeded');
    // About five requests per step (two reads of the run, claim, outcome, creating the next task); no scans
    // beyond the run watchdog's occasional check.
    const byRun = total(counts) - (counts['QueryCommand(due)'] ?? 0);
    expect(byRun).toBeLessThan(CHAIN * 7);
    expect(counts.QueryCommand ?? 0).toBeLessThan(50);
    const run = (await h.request('GET', `/runs/${start.body.runId}`)).body;
    expect(run.tasks.every((t: any) => t.status === 'succeeded' && t.attempt === 1)).toBe(true);
    expect(run.output).toEqual({ [`t${CHAIN - 1}`]: { i: CHAIN - 1 } });
    // Where the time goes, per step, from the tasks' own timestamps (medians, ms).
    const ms = (x: string) => Date.parse(x);
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const at = (q: number) => s[Math.floor((s.length - 1) * q)];
      return `median ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)}`;
    };
    const ts = run.tasks as any[];
    console.log(`[chain ${CHAIN}] per step (ms):`, {
      'ended -> next queued (stream hop + master)': median(ts.slice(1).map((t, i) => ms(t.queuedAt) - ms(ts[i].endedAt))),
      'queued -> claimed (dispatch + worker reads + claim)': median(ts.map((t) => ms(t.startedAt) - ms(t.queuedAt))),
      'claimed -> ended (execute + record outcome)': median(ts.map((t) => ms(t.endedAt) - ms(t.startedAt))),
    });
  }, 180_000);
});
