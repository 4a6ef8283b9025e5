import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/common/config.js';
import { log } from '../../functions/common/logger.js';
import { StreamPoller } from '../../functions/local/stream-poller.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';
import { listParked } from '../../functions/store/parked.js';
import { acquire } from '../../functions/store/pools.js';
import { createRun } from '../../functions/store/runs.js';
import { ensureTable, TABLE } from '../../functions/store/table.js';
import { claim } from '../../functions/store/tasks.js';
import { useDynamo } from '../support/harness.js';
import { bundleOf, type CloudAssembly, functionId, synthWithCli } from './support/cloud-assembly.js';
import { passesFilters } from './support/event-filter.js';
import { httpEvent, scheduledEvent, sfnStatusEvent, sqsEvent, streamEvent } from './support/events.js';
import { executions, FakeAws } from './support/fake-aws.js';
import { LambdaHost } from './support/lambda-host.js';
import { allows, functionStatements, type Json } from './support/policy.js';

/**
 * What `cdk deploy` uploads is what runs here: `cdk synth` (offline), then each function's bundle
 * from the cloud assembly, each in its own process with the environment the template gives it,
 * driven with real event shapes against DynamoDB Local. Lambda's own plumbing (the stream event
 * source with its filters, async invocation, the SQS poller, the schedule) is played by this test;
 * every AWS call a bundle makes is checked against its role's policy in the same template.
 */

const endpoint = useDynamo();
const FUNCTIONS = ['api', 'master', 'worker', 'sweeper', 'timer', 'scheduler', 'sfn-events'] as const;
type Fn = (typeof FUNCTIONS)[number];
/** Short leases so that the lost attempt below comes due in about a second. */
const LEASE_MS = 1200;
/** The user's own function and state machine that tasks call, granted the way a user would: `cdk synth -c ...`. */
const USER_FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:bundled-async';
const USER_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:bundled-machine';
/** What CloudFormation would make of the pseudo parameters and the API's id in this deployment. */
const API_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/';

const table = `infra${randomBytes(5).toString('hex')}`;
let assembly: CloudAssembly;
const ids = {} as Record<Fn, string>;
const hosts = {} as Record<Fn, LambdaHost>;
const edges = {} as Record<Fn, FakeAws>;
const streamRecords: _Record[] = [];
/** Baton's own HTTP API (`Baton/Http/Api`), picked by logical id: the console's API (`Baton/Console/Api/Api`) is the other one. */
let batonApiId = '';
let poller: StreamPoller;
const copies: string[] = [];
let streamArn = '';

beforeAll(async () => {
  const client = dynamoClient();
  const [synthesized] = await Promise.all([
    synthWithCli('Baton', { taskFunctions: USER_FUNCTION, taskStateMachines: USER_MACHINE }),
    ensureTable(client, table),
  ]);
  assembly = synthesized;
  console.info(`cdk synth (offline, ${FUNCTIONS.length} bundles): ${assembly.synthMs} ms`);
  const resources = assembly.template.Resources as Record<string, Json>;
  const idOf = (type: string) => Object.keys(resources).find((k) => resources[k].Type === type)!;
  for (const f of FUNCTIONS) ids[f] = functionId(assembly.template, f);
  const apis = Object.keys(resources).filter((k) => resources[k].Type === 'AWS::ApiGatewayV2::Api');
  expect(apis).toHaveLength(2);
  batonApiId = apis.find((k) => /^BatonHttpApi[0-9A-F]{8}$/.test(k))!;
  expect(batonApiId).toBeDefined();
  const workerName = `${table}-worker`;
  await Promise.all(
    FUNCTIONS.map(async (f) => {
      const edge = await FakeAws.start(endpoint);
      edges[f] = edge;
      const bundle = bundleOf(assembly, ids[f]);
      copies.push(dirname(bundle.file));
      // CloudFormation references, resolved the way CloudFormation would for this deployment.
      const refs: Record<string, string> = {
        [idOf('AWS::DynamoDB::Table')]: table,
        [ids.worker]: workerName,
        [Object.keys(resources).find((k) => /^BatonTimerQueue[0-9A-F]{8}$/.test(k))!]: `${edge.url}/000000000000/${table}-timers`,
        [batonApiId]: 'abc123',
        [idOf('AWS::Events::EventBus')]: `${table}-events`,
        'AWS::Region': 'us-east-1',
        'AWS::URLSuffix': 'amazonaws.com',
      };
      const cfn = (v: Json): string => {
        if (typeof v === 'string') return v;
        if (v?.Ref && refs[v.Ref]) return refs[v.Ref]!;
        if (v?.['Fn::Join']) return (v['Fn::Join'][1] as Json[]).map(cfn).join(v['Fn::Join'][0]);
        throw new Error(`${f}: cannot resolve ${JSON.stringify(v)}`);
      };
      const env = Object.fromEntries(Object.entries(bundle.environment).map(([k, v]) => [k, cfn(v)]));
      hosts[f] = await LambdaHost.start(f, bundle.file, bundle.exportName, {
        ...env,
        BATON_LEASE_MS: String(LEASE_MS),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_LAMBDA_FUNCTION_NAME: f === 'worker' ? workerName : `${table}-${f}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${f}`,
        AWS_ENDPOINT_URL_DYNAMODB: edge.url,
        AWS_ENDPOINT_URL_LAMBDA: edge.url,
        AWS_ENDPOINT_URL_SQS: edge.url,
        AWS_ENDPOINT_URL_SFN: edge.url,
        AWS_ENDPOINT_URL_EVENTBRIDGE: edge.url,
      });
    }),
  );
  streamArn = (await client.send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn ?? '';
  poller = new StreamPoller({ client, table, log, idleMs: 20, onBatch: async (records) => void streamRecords.push(...records) });
  poller.start();
}, 480_000); // cdk synth alone took 160 s on a loaded 2-core box

afterAll(async () => {
  await poller?.stop();
  for (const f of FUNCTIONS) {
    hosts[f]?.stop();
    await edges[f]?.close();
  }
  for (const dir of [assembly?.dir, ...copies]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A request as API Gateway delivers it: through the route it matches, authorized only where the route has an authorizer. */
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const routes = Object.values(assembly.template.Resources as Record<string, Json>)
    .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.ApiId.Ref === batonApiId)
    .map((r) => r.Properties);
  const matches = (key: string) => {
    const [m, template] = key.split(' ') as [string, string];
    const re = new RegExp(`^${template.replace(/\{\w+\+\}/g, '.+').replace(/\{\w+\}/g, '[^/]+')}$`);
    return (m === 'ANY' || m === method) && re.test(path);
  };
  // API Gateway prefers the most specific route: here, any route over the greedy catch-all.
  const route = routes
    .filter((r) => matches(r.RouteKey))
    .sort((a, b) => Number(a.RouteKey.includes('+}')) - Number(b.RouteKey.includes('+}')))[0];
  if (!route) throw new Error(`no route for ${method} ${path}`);
  const r = await hosts.api.invoke(httpEvent(route.RouteKey, method, path, body, route.AuthorizationType !== 'NONE'));
  return {
    status: r.statusCode,
    body: r.body ? JSON.parse(r.isBase64Encoded ? Buffer.from(r.body, 'base64').toString() : r.body) : undefined,
  };
}

/**
 * What the event source mapping does: keep the records its filters pass, deliver them in batches, and
 * retry a batch from its first failed record (a partial batch response) up to `retries` times. The
 * tests without a poison record allow none.
 */
async function deliverStream(retries = 0): Promise<number> {
  const records = streamRecords.splice(0);
  if (records.length === 0) return 0;
  const esm = Object.values(assembly.template.Resources as Record<string, Json>).find(
    (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName.Ref === ids.master,
  ).Properties;
  const events = records.map((r) => streamEvent(r, streamArn));
  const passed = events.filter((e) => passesFilters(esm.FilterCriteria.Filters, e));
  stats.streamRecords += events.length;
  stats.delivered += passed.length;
  for (let i = 0; i < passed.length; i += esm.BatchSize) {
    let batch = passed.slice(i, i + esm.BatchSize);
    for (let attempt = 0; ; attempt++) {
      const res = await hosts.master.invoke({ Records: batch });
      if (res.batchItemFailures.length === 0) break;
      expect(attempt, JSON.stringify(res.batchItemFailures)).toBeLessThan(retries);
      const first = batch.findIndex((r) => r.dynamodb.SequenceNumber === res.batchItemFailures[0].itemIdentifier);
      batch = batch.slice(first);
    }
  }
  return passed.length;
}

const stats = { streamRecords: 0, delivered: 0, workerRuns: 0, timerMessages: 0 };
const timers: { due: number; body: string }[] = [];
/** Asynchronous invocations of the user's function (what Lambda would run; the test plays the function). */
const userInvokes: Json[] = [];
/** Set once the first worker invocation for task b has been held back (its worker "died" after claiming). */
let lost: { at: number } | undefined;

/** What Lambda's async invocation and the SQS poller do with the calls the functions made. */
async function deliverCalls(runId: string): Promise<number> {
  let n = 0;
  for (const f of FUNCTIONS) {
    for (const call of edges[f].take('lambda')) {
      expect(call.invocationType).toBe('Event');
      if (call.functionName !== `${table}-worker`) {
        expect([f, call.functionName]).toEqual(['worker', USER_FUNCTION]);
        userInvokes.push(call.payload);
        continue;
      }
      if (call.payload.task === 'c' && !lost) {
        // The async event arrived, the worker claimed the attempt and died before its first heartbeat.
        // (c, not b: the worker that ran a runs b itself, eagerly, and dispatches c.)
        const db = new Db(documentClient(dynamoClient()), loadConfig({ BATON_TABLE: table, BATON_LEASE_MS: String(LEASE_MS) }));
        expect(await claim(db, runId, 'c', call.payload.attempt, 'dead-worker', Date.now())).toBeDefined();
        lost = { at: Date.now() };
        continue;
      }
      await hosts.worker.invoke(call.payload);
      stats.workerRuns++;
      n++;
    }
    for (const call of edges[f].take('sqs'))
      timers.push({ due: Date.now() + call.input.DelaySeconds * 1000, body: call.input.MessageBody });
  }
  const due = timers.filter((t) => t.due <= Date.now());
  if (due.length > 0) {
    timers.splice(0, timers.length, ...timers.filter((t) => !due.includes(t)));
    const res = await hosts.timer.invoke(
      sqsEvent(
        `arn:aws:sqs:us-east-1:000000000000:${table}-timers`,
        due.map((t) => t.body),
      ),
    );
    expect(res.batchItemFailures).toEqual([]);
    stats.timerMessages += due.length;
    n += due.length;
  }
  return n;
}

/** Plays Lambda, SQS and the event source mapping until `done` holds; `step` is the test's own move each round. */
async function drive(runId: string, done: () => Promise<boolean>, step: () => Promise<number> = async () => 0, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not done in time: ${JSON.stringify({ stats, timers: timers.length })}`);
    const moved = (await deliverStream()) + (await deliverCalls(runId)) + (await step());
    if (moved === 0) await new Promise((r) => setTimeout(r, 25));
  }
}

const statusOf = async (runId: string) =>
  (await documentClient(dynamoClient()).send(new GetCommand({ TableName: table, Key: { pk: `RUN#${runId}`, sk: 'RUN' } }))).Item?.status;

describe('the synthesized bundles', () => {
  it('run a workflow end to end: API, stream, master, workers, a sub-workflow, the timer queue and a sweep that reclaims a lost lease', async () => {
    // The child runs under a concurrency gate, so the master's gate writes are exercised too.
    const child = await api('PUT', '/workflows/bundled-child', {
      name: 'bundled-child',
      concurrency: { policy: 'queue', limit: 2 },
      tasks: { only: { type: 'noop', output: 'from the child' } },
    });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    const put = await api('PUT', '/workflows/bundled', {
      name: 'bundled',
      tasks: {
        a: { type: 'noop', output: { n: 1 } },
        b: { type: 'noop', after: ['a'] },
        // A timeout longer than the worker's invocation has left: a's worker dispatches c (invokes itself)
        // rather than running it beside b (eager dispatch starts only attempts that fit the time left).
        c: { type: 'wait', after: ['a'], duration: '3s', timeout: '1h' },
        d: { type: 'subworkflow', after: ['b', 'c'], workflow: 'bundled-child' },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await api('POST', '/workflows/bundled/runs', {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const runId: string = start.body.runId;

    const doc = documentClient(dynamoClient());
    const runStatus = async () =>
      (await doc.send(new GetCommand({ TableName: table, Key: { pk: `RUN#${runId}`, sk: 'RUN' } }))).Item?.status;
    let sweep: Json;
    const deadline = Date.now() + 40_000;
    while ((await runStatus()) !== 'succeeded') {
      if (Date.now() > deadline) throw new Error(`run not finished: ${JSON.stringify({ stats, lost, sweep, status: await runStatus() })}`);
      let moved = (await deliverStream()) + (await deliverCalls(runId));
      if (lost && !sweep?.reclaimed && Date.now() > lost.at + LEASE_MS) {
        // The EventBridge schedule fires the sweeper: the dead worker's lease has expired.
        sweep = await hosts.sweeper.invoke(scheduledEvent(`arn:aws:events:us-east-1:000000000000:rule/${table}-sweeper`));
        moved++;
      }
      if (moved === 0) await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 100));
    await deliverStream(); // the run's own terminal record reaches the master too

    expect(sweep.reclaimed).toBe(1);
    const view = await api('GET', `/runs/${runId}`);
    expect(view.status).toBe(200);
    expect(view.body.status).toBe('succeeded');
    expect(view.body.output).toEqual({ d: { only: 'from the child' } });
    expect(view.body.children).toHaveLength(1);
    expect(view.body.trigger).toMatchObject({ type: 'api', identity: 'arn:aws:iam::123456789012:user/tester' });
    const c = view.body.tasks.find((t: Json) => t.name === 'c');
    expect(c.attempts.map((x: Json) => x.status)).toEqual(['lost', 'succeeded']);
    // b ran in the invocation that ran a (eager dispatch), claimed in that invocation.
    expect(view.body.tasks.find((t: Json) => t.name === 'b').attempts).toHaveLength(1);
    // The filters dropped most records (claims, definitions, due-time changes) before the master.
    expect(stats.delivered).toBeLessThan(stats.streamRecords);
    expect(stats.timerMessages).toBeGreaterThanOrEqual(1);
  });

  it('fire a cron schedule: made through the API bundle, fired by the scheduler bundle on its EventBridge tick', async () => {
    const put = await api('PUT', '/workflows/ticked', { name: 'ticked', tasks: { only: { type: 'noop', output: 'tick' } } });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    // Every second, but only inside a one-second window: exactly one fire time, a second or two away.
    const fireAt = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    const at = new Date(fireAt).toISOString();
    const sched = await api('PUT', '/workflows/ticked/schedules/each-second', { cron: '* * * * * *', start: at, end: at });
    expect(sched.status, JSON.stringify(sched.body)).toBe(201);
    expect(sched.body.nextFireTime).toBe(at);
    await new Promise((r) => setTimeout(r, fireAt + 50 - Date.now()));

    const tickEvent = () => scheduledEvent(`arn:aws:events:us-east-1:000000000000:rule/${table}-scheduler`);
    expect(await hosts.scheduler.invoke(tickEvent())).toMatchObject({ fired: 1, created: 1, existing: 0, errors: 0 });
    // The schedule has no fire time left: the next tick finds nothing due.
    expect(await hosts.scheduler.invoke(tickEvent())).toMatchObject({ fired: 0, created: 0, errors: 0 });
    const fired = await api('GET', '/workflows/ticked/schedules/each-second');
    const runId: string = fired.body.lastFire.runId;
    expect(fired.body.lastFire).toMatchObject({ fireTime: at, created: true });
    expect(fired.body.nextFireTime).toBeUndefined();

    await drive(runId, async () => (await statusOf(runId)) === 'succeeded');
    const view = await api('GET', `/runs/${runId}`);
    expect(view.body).toMatchObject({ status: 'succeeded', output: { only: 'tick' } });
    expect(view.body.trigger).toEqual({ type: 'schedule', scheduleId: 'each-second', fireTime: at });
    expect((await api('DELETE', '/workflows/ticked/schedules/each-second')).status).toBe(204);
  });

  it("complete tasks that call the user's AWS: an async lambda task through the open callback route, a stepfunctions task woken by sfn-events", async () => {
    const put = await api('PUT', '/workflows/bundled-aws', {
      name: 'bundled-aws',
      tasks: {
        notify: { type: 'lambda', function: USER_FUNCTION, mode: 'async', payload: { hello: 'world' } },
        charge: { type: 'stepfunctions', stateMachine: USER_MACHINE, input: { order: 7 } },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await api('POST', '/workflows/bundled-aws/runs', {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const runId: string = start.body.runId;

    const rule = Object.values(assembly.template.Resources as Record<string, Json>).find(
      (r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern,
    ).Properties;
    const results: Json[] = [];
    let reported: Json;
    await drive(
      runId,
      async () => (await statusOf(runId)) === 'succeeded',
      async () => {
        let moved = 0;
        // The function runs and reports to the URL it was given, without any credentials.
        for (const event of userInvokes.splice(0)) {
          expect(event).toMatchObject({ hello: 'world', baton: { runId, task: 'notify', attempt: 1 } });
          const { callbackUrl, callbackToken } = event.baton;
          expect(callbackUrl).toBe(`${API_URL}callbacks/${callbackToken}`);
          reported = await api('POST', new URL(callbackUrl).pathname, { output: { sent: true } });
          moved++;
        }
        // The execution ends; EventBridge delivers its status change to sfn-events if the rule matches.
        for (const e of executions.values()) {
          if (e.status !== 'RUNNING' || !e.name.startsWith(runId)) continue;
          e.status = 'SUCCEEDED';
          e.output = JSON.stringify({ charged: JSON.parse(e.input).order });
          const event = sfnStatusEvent({ ...e, status: e.status });
          expect(passesFilters([{ Pattern: JSON.stringify(rule.EventPattern) }], event)).toBe(true);
          results.push(await hosts['sfn-events'].invoke(event));
          moved++;
        }
        return moved;
      },
    );
    expect(reported).toMatchObject({ status: 202, body: { status: 'accepted', task: 'notify', attempt: 1 } });
    expect(results).toEqual(['woken']);
    const view = await api('GET', `/runs/${runId}`);
    expect(view.body).toMatchObject({ status: 'succeeded', output: { notify: { sent: true }, charge: { charged: 7 } } });
    // An event for an execution Baton did not start changes nothing.
    const stranger = sfnStatusEvent({
      executionArn: `${USER_MACHINE.replace(':stateMachine:', ':execution:')}:${runId}_1_nosuchtask`,
      stateMachineArn: USER_MACHINE,
      name: `${runId}_1_nosuchtask`,
      status: 'FAILED',
    });
    expect(await hosts['sfn-events'].invoke(stranger)).toBe('ignored_unknown');
  });

  it('run pool tasks: a pool sized through the API bundle, its slots taken, waited for and given back by workers, and freed by a sweep', async () => {
    const size = await api('PUT', '/pools/bundled-pool', { slots: 1 });
    expect(size.status, JSON.stringify(size.body)).toBe(200);
    const put = await api('PUT', '/workflows/bundled-pooled', {
      name: 'bundled-pooled',
      tasks: { x: { type: 'noop', pool: 'bundled-pool' }, y: { type: 'noop', pool: 'bundled-pool' } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await api('POST', '/workflows/bundled-pooled/runs', {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const runId: string = start.body.runId;
    await drive(runId, async () => (await statusOf(runId)) === 'succeeded');
    const listed = await api('GET', '/pools');
    expect(listed.body.pools).toContainEqual(expect.objectContaining({ name: 'bundled-pool', slots: 1, inUse: 0, holders: [] }));

    // A worker killed between recording its attempt's outcome and giving the slot back leaves the slot
    // held by an attempt that has ended; the pool's check comes due (BATON_RECHECK_MS later, played
    // here by moving its due time) and the sweep frees it.
    const db = new Db(documentClient(dynamoClient()), loadConfig({ BATON_TABLE: table, BATON_LEASE_MS: String(LEASE_MS) }));
    expect(await acquire(db, 'bundled-pool', { runId, task: 'x', attempt: 1, slots: 1 }, 1, Date.now())).toBe(true);
    const poolKey = { pk: 'POOL#bundled-pool', sk: 'POOL' };
    await db.update(poolKey, { set: db.due(poolKey, Date.now()) });
    expect((await api('GET', '/pools/bundled-pool')).body).toMatchObject({ inUse: 1 });
    await hosts.sweeper.invoke(scheduledEvent(`arn:aws:events:us-east-1:000000000000:rule/${table}-sweeper`));
    expect((await api('GET', '/pools/bundled-pool')).body).toMatchObject({ inUse: 0, holders: [] });
  });

  it('park a poison stream record in the master bundle and fail its run', async () => {
    // A run pinned to a definition version that does not exist, written straight through the store:
    // every handling of its records throws, so the master counts, then parks them.
    const db = new Db(documentClient(dynamoClient()), loadConfig({ BATON_TABLE: table }));
    const runId = `poison-${randomBytes(4).toString('hex')}`;
    const run = {
      runId,
      workflow: 'bundled',
      version: 999,
      params: {},
      createdAt: Date.now(),
      trigger: { type: 'api' as const },
      depth: 0,
    };
    expect(await createRun(db, run)).toBe(true);
    const esm = Object.values(assembly.template.Resources as Record<string, Json>).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName.Ref === ids.master,
    ).Properties;
    const retries: number = esm.MaximumRetryAttempts;
    const deadline = Date.now() + 20_000;
    while ((await statusOf(runId)) !== 'failed') {
      if (Date.now() > deadline) throw new Error(`poison run not failed: ${await statusOf(runId)}`);
      if ((await deliverStream(retries)) === 0) await new Promise((r) => setTimeout(r, 25));
    }
    // The run's end record is poison too: let it be parked here rather than fail a later delivery.
    do await new Promise((r) => setTimeout(r, 300));
    while ((await deliverStream(retries)) > 0);
    const parked = (await listParked(db)).filter((p) => p.runId === runId);
    expect(parked.length).toBeGreaterThanOrEqual(1);
    expect(parked[0]?.parkedAt).toBeDefined();
    expect((await api('GET', `/runs/${runId}`)).body.failure).toMatchObject({ task: '(run)', reason: 'engine_error' });
  });

  it('emit LeasesReclaimed from the sweep as an EMF metric in the namespace and dimensions its alarm reads', () => {
    const alarm = Object.values(assembly.template.Resources as Record<string, Json>).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'LeasesReclaimed',
    ).Properties;
    const dims = Object.fromEntries((alarm.Dimensions as Json[]).map((d) => [d.Name, d.Value]));
    const emf = hosts.sweeper.logs.flatMap((l) => {
      try {
        const j = JSON.parse(l);
        return j._aws ? [j] : [];
      } catch {
        return [];
      }
    });
    const points = emf.filter((j) =>
      j._aws.CloudWatchMetrics.some(
        (m: Json) => m.Namespace === alarm.Namespace && m.Metrics.some((x: Json) => x.Name === 'LeasesReclaimed'),
      ),
    );
    expect(points.length).toBeGreaterThan(0);
    for (const p of points) for (const [k, v] of Object.entries(dims)) expect(p[k]).toBe(v);
    expect(points.reduce((sum, p) => sum + p.LeasesReclaimed, 0)).toBe(1);
  });

  it('made only AWS calls that each function role allows', () => {
    const resources = assembly.template.Resources as Record<string, Json>;
    const tableId = Object.keys(resources).find((k) => resources[k].Type === 'AWS::DynamoDB::Table')!;
    const queueId = Object.keys(resources).find((k) => /^BatonTimerQueue[0-9A-F]{8}$/.test(k))!;
    const busId = Object.keys(resources).find((k) => resources[k].Type === 'AWS::Events::EventBus')!;
    const seen: string[] = [];
    for (const f of FUNCTIONS) {
      const statements = functionStatements(assembly.template, ids[f]);
      for (const call of edges[f].calls) {
        if (call.service === 'dynamodb') {
          const { op, input } = call;
          const resource = input.IndexName ? `${tableId}.Arn/index/${input.IndexName}` : `${tableId}.Arn`;
          const pk = partitionKey(op, input);
          seen.push(`${f} ${op} ${input.IndexName ?? pk?.replace(/#.*/, '#')}`);
          expect(allows(statements, `dynamodb:${op}`, resource, pk), `${f} ${op} ${resource} ${pk}`).toBe(true);
        } else if (call.service === 'lambda') {
          const target = call.functionName === `${table}-worker` ? `${ids.worker}.Arn` : call.functionName;
          seen.push(`${f} lambda:InvokeFunction ${target === call.functionName ? 'user' : 'worker'}`);
          // The worker invokes itself (inline dispatch) through its resource policy, not its role policy.
          const selfGrant = f === 'worker' && target === `${ids.worker}.Arn` && grantsItsOwnRole(resources, ids.worker);
          expect(selfGrant || allows(statements, 'lambda:InvokeFunction', target), `${f} ${target}`).toBe(true);
        } else if (call.service === 'sfn') {
          const target = call.input.executionArn ?? call.input.stateMachineArn;
          seen.push(`${f} states:${call.op}`);
          expect(allows(statements, `states:${call.op}`, target), `${f} ${call.op} ${target}`).toBe(true);
        } else if (call.service === 'events') {
          seen.push(`${f} events:${call.op}`);
          for (const e of call.input.Entries) expect(e.EventBusName).toBe(`${table}-events`);
          expect(allows(statements, `events:${call.op}`, `${busId}.Arn`), `${f} events:${call.op}`).toBe(true);
        } else {
          expect(allows(statements, `sqs:${call.op}`, `${queueId}.Arn`), f).toBe(true);
        }
      }
    }
    // The run touched every kind of access the roles grant (so the check above is not vacuous).
    for (const expected of [
      'api PutItem DEF#',
      'api PutItem RUN#',
      'api UpdateItem WORKFLOWS',
      'worker UpdateItem RUN#',
      'master PutItem RUN#',
      'sweeper Query due',
      'api PutItem SCHED#',
      'api DeleteItem SCHED#',
      'scheduler Query due',
      'scheduler GetItem SCHED#',
      'scheduler PutItem RUN#',
      'scheduler UpdateItem SCHED#',
      'sfn-events GetItem RUN#',
      'sfn-events UpdateItem RUN#',
      'sfn-events lambda:InvokeFunction worker',
      'api UpdateItem RUN#',
      'api lambda:InvokeFunction worker',
      'worker lambda:InvokeFunction user',
      'worker lambda:InvokeFunction worker',
      'worker states:StartExecution',
      'worker states:DescribeExecution',
      'master events:PutEvents',
      'api UpdateItem POOL#',
      'api UpdateItem POOLS',
      'api Query POOLS',
      'api GetItem POOL#',
      'worker GetItem POOL#',
      'worker UpdateItem POOL#',
      'sweeper GetItem POOL#',
      'sweeper UpdateItem POOL#',
      'master UpdateItem PARKED',
    ]) {
      expect(seen).toContain(expected);
    }
  });
});

/** Whether the function's resource policy lets its own execution role invoke it (and nothing broader). */
function grantsItsOwnRole(resources: Record<string, Json>, fnId: string): boolean {
  const roleId = resources[fnId].Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources).some(
    (r) =>
      r.Type === 'AWS::Lambda::Permission' &&
      r.Properties.Action === 'lambda:InvokeFunction' &&
      r.Properties.FunctionName?.['Fn::GetAtt']?.[0] === fnId &&
      r.Properties.Principal?.['Fn::GetAtt']?.[0] === roleId,
  );
}

/** The partition key value a DynamoDB request names (what `dynamodb:LeadingKeys` sees). */
function partitionKey(op: string, input: Json): string | undefined {
  if (op === 'Query') {
    const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
    const m = /^\s*(#?\w+)\s*=\s*(:\w+)/.exec(input.KeyConditionExpression);
    if (!m) return undefined;
    const attr = names[m[1]!] ?? m[1];
    return attr === TABLE.pk || input.IndexName ? input.ExpressionAttributeValues[m[2]!]?.S : undefined;
  }
  return (input.Key ?? input.Item)?.[TABLE.pk]?.S;
}
