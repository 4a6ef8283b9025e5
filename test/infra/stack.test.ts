import { Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/api/app.js';
import { sfnEventsHandler } from '../../functions/handlers/sfn-events.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { tableDefinition } from '../../functions/store/table.js';
import { HANDLERS, type HandlerName } from '../../infra/handlers.js';
import { passesFilters } from './support/event-filter.js';
import { actionsOf, allows } from './support/policy.js';
import { synth } from './support/stack.js';

const s = synth();
/** Every knob changed at once: one more synth instead of one per test. */
const custom = synth({
  alarmEmail: 'ops@example.com',
  baton: {
    leaseDuration: Duration.seconds(10),
    workerTimeout: Duration.minutes(5),
    sweepInterval: Duration.minutes(2),
    runRetention: Duration.days(30),
    callbackBaseUrl: 'https://baton.example.com/',
    streamParallelization: 5,
    tableRemovalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    auth: { type: 'jwt', issuer: 'https://issuer.example.com', audience: ['baton'], scopes: ['baton/run'] },
    cors: { allowOrigins: ['https://console.example.com'] },
  },
});
const names = Object.keys(HANDLERS) as HandlerName[];
const TABLE = `${s.id(s.stack.baton.table)}.Arn`;
const resources = (type: string) => Object.entries(s.json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);

describe('functions', () => {
  const newestNode = Object.keys(lambda.Runtime)
    .map((k) => /^NODEJS_(\d+)_X$/.exec(k)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => b - a)[0];

  it.each(names)('%s: newest Node.js runtime, ARM64, tracing, log group with retention', (name) => {
    const fn = s.json.Resources[s.fnId(name)].Properties;
    expect(fn.Runtime).toBe(`nodejs${newestNode}.x`);
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.Handler).toBe('index.handler');
    expect(fn.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    const logGroupId = fn.LoggingConfig.LogGroup.Ref;
    expect(s.json.Resources[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  it('sizes each function for its job', () => {
    const timeout = (n: HandlerName) => s.json.Resources[s.fnId(n)].Properties.Timeout;
    expect(timeout('master')).toBe(60);
    expect(timeout('worker')).toBe(900);
    expect(s.json.Resources[s.fnId('worker')].Properties.MemorySize).toBe(512);
    for (const n of ['api', 'sweeper', 'timer', 'sfn-events'] as const) expect(timeout(n), n).toBeLessThanOrEqual(30);
    // A tick ends before the next one starts.
    expect(timeout('scheduler')).toBeLessThanOrEqual(60);
  });

  it('gives every function the engine settings, and the worker and timer queue to those that use them', () => {
    const env = (n: HandlerName) => s.json.Resources[s.fnId(n)].Properties.Environment.Variables;
    const dispatchers: HandlerName[] = ['api', 'master', 'sweeper', 'timer', 'sfn-events'];
    const timerUsers: HandlerName[] = ['api', 'master', 'worker', 'sweeper', 'timer', 'scheduler'];
    for (const n of names) {
      expect(env(n)).toMatchObject({
        BATON_TABLE: { Ref: s.id(s.stack.baton.table) },
        BATON_LEASE_MS: '30000',
        BATON_WATCHDOG_MS: '300000',
        BATON_MAX_LOST: '3',
        BATON_DUE_SHARDS: '4',
        BATON_RUN_RETENTION_DAYS: '90',
        BATON_LOG_LEVEL: 'info',
      });
      expect(env(n).BATON_WORKER_FUNCTION, n).toEqual(dispatchers.includes(n) ? { Ref: s.fnId('worker') } : undefined);
      expect(env(n).BATON_TIMER_QUEUE_URL, n).toEqual(timerUsers.includes(n) ? { Ref: s.id(s.stack.baton.timerQueue) } : undefined);
    }
  });

  it('tells the worker the API URL, for the callback URL of asynchronous lambda tasks', () => {
    const url = (x: typeof s) => x.json.Resources[x.fnId('worker')].Properties.Environment.Variables.BATON_API_URL;
    const api = s.id(s.stack.baton.httpApi.api);
    expect(url(s)).toEqual({
      'Fn::Join': ['', ['https://', { Ref: api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/']],
    });
    for (const n of names.filter((x) => x !== 'worker')) {
      expect(s.json.Resources[s.fnId(n)].Properties.Environment.Variables.BATON_API_URL, n).toBeUndefined();
    }
    expect(url(custom)).toBe('https://baton.example.com/');
  });

  it('has no dependency cycle (the worker names the API, whose route names the api function, which names the worker)', () => {
    for (const t of [s.json, custom.json]) expect(findCycle(t)).toBeUndefined();
  });

  it('honours the knobs', () => {
    const env = (n: HandlerName) => custom.json.Resources[custom.fnId(n)].Properties.Environment.Variables;
    expect(custom.json.Resources[custom.fnId('worker')].Properties.Timeout).toBe(300);
    expect(env('api').BATON_LEASE_MS).toBe('10000');
    for (const n of names) expect(env(n).BATON_RUN_RETENTION_DAYS, n).toBe('30');
    custom.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(2 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [custom.fnId('sweeper'), 'Arn'] } })],
    });
    expect(
      synth({ baton: { runRetention: Duration.days(0) } }).json.Resources[s.fnId('api')].Properties.Environment.Variables,
    ).toMatchObject({ BATON_RUN_RETENTION_DAYS: '0' });
    expect(() => synth({ baton: { runRetention: Duration.hours(36) } })).toThrow(/whole number of days/);
  });
});

describe('least privilege', () => {
  const can = (n: HandlerName, action: string, pk?: string, resource = TABLE) =>
    allows(s.statements(n), `dynamodb:${action}`, resource, pk);

  it('grants only the item actions the store uses: no Scan, batch, transaction or table administration', () => {
    const used = ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'].map((a) => `dynamodb:${a}`);
    const stream = ['dynamodb:ListStreams', 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'];
    for (const n of names) {
      for (const a of actionsOf(s.statements(n)).filter((x) => x.startsWith('dynamodb:'))) {
        expect([...used, ...(n === 'master' ? stream : [])], n).toContain(a);
      }
      for (const a of ['DeleteTable', 'UpdateTable', 'Scan', 'BatchWriteItem', 'BatchGetItem', 'TransactWriteItems']) {
        expect(can(n, a, 'RUN#x'), `${n} ${a}`).toBe(false);
      }
    }
  });

  it('limits every table statement to partitions with dynamodb:LeadingKeys', () => {
    for (const n of names) {
      for (const st of s.statements(n)) {
        const onTable = JSON.stringify(st.Resource) === JSON.stringify({ 'Fn::GetAtt': [s.id(s.stack.baton.table), 'Arn'] });
        if (onTable) expect(st.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'], n).toBeDefined();
      }
    }
  });

  const samples = {
    definition: 'DEF#wf',
    workflowList: 'WORKFLOWS',
    run: 'RUN#r1',
    schedule: 'SCHED#wf',
    backfill: 'BACKFILL#b1',
    gate: 'CONC#wf',
    waiter: 'DEPWAIT#wf',
    pool: 'POOL#p',
    poolNames: 'POOLS',
    parked: 'PARKED',
    // The local runtime's membership: no function's business.
    members: 'MEMBERS',
  };
  const none = {
    definition: '',
    workflowList: '',
    run: '',
    schedule: '',
    backfill: '',
    gate: '',
    waiter: '',
    pool: '',
    poolNames: '',
    parked: '',
    members: '',
  };

  it('lets each function write only the partitions its code writes', () => {
    const writes = Object.fromEntries(
      names.map((n) => [
        n,
        Object.fromEntries(
          Object.entries(samples).map(([what, pk]) => [
            what,
            ['PutItem', 'UpdateItem', 'DeleteItem'].filter((a) => can(n, a, pk)).join(','),
          ]),
        ),
      ]),
    );
    expect(writes).toEqual({
      api: {
        ...none,
        definition: 'PutItem',
        workflowList: 'UpdateItem',
        run: 'PutItem,UpdateItem',
        schedule: 'PutItem,UpdateItem,DeleteItem',
        backfill: 'PutItem,UpdateItem',
        // PUT /pools/{name}: the pool item, its name in the registry, and the pump that wakes its line.
        pool: 'UpdateItem',
        poolNames: 'UpdateItem',
      },
      // A run end removes the waiters of dependent tasks that are over; a poison record is counted and parked;
      // a cancelled run gives back its pool slots.
      master: {
        ...none,
        run: 'PutItem,UpdateItem',
        backfill: 'UpdateItem',
        gate: 'UpdateItem',
        waiter: 'DeleteItem',
        parked: 'UpdateItem',
        pool: 'UpdateItem',
      },
      // A dependent task files its waiter, and removes it once it found its run; a pool task takes and gives back slots.
      worker: { ...none, run: 'PutItem,UpdateItem', waiter: 'PutItem,DeleteItem', pool: 'UpdateItem' },
      // Both give back the slots of attempts they end; the sweeper frees leaked ones.
      sweeper: {
        ...none,
        run: 'PutItem,UpdateItem',
        schedule: 'UpdateItem',
        backfill: 'UpdateItem',
        gate: 'UpdateItem',
        pool: 'UpdateItem',
      },
      timer: { ...none, run: 'PutItem,UpdateItem', schedule: 'UpdateItem', backfill: 'UpdateItem', gate: 'UpdateItem', pool: 'UpdateItem' },
      // Creates runs (conditional put) and advances the schedules it fired; no gates, no backfills.
      scheduler: { ...none, run: 'PutItem', schedule: 'UpdateItem' },
      // Wakes a waiting task (or flags a running one): one conditional update in the run's partition.
      'sfn-events': { ...none, run: 'UpdateItem' },
    });
  });

  it('lets each function read only the partitions its code reads', () => {
    const reads = Object.fromEntries(
      names.map((n) => [
        n,
        Object.fromEntries(
          Object.entries(samples).map(([what, pk]) => [what, ['GetItem', 'Query'].filter((a) => can(n, a, pk)).join(',')]),
        ),
      ]),
    );
    const both = 'GetItem,Query';
    expect(reads).toEqual({
      // GET /pools: the names (a Query of the registry), then each pool item.
      api: {
        ...none,
        definition: both,
        workflowList: both,
        run: both,
        schedule: both,
        backfill: both,
        pool: 'GetItem',
        poolNames: 'Query',
      },
      master: { ...none, definition: both, run: both, backfill: both, gate: both, waiter: both, pool: 'GetItem' },
      worker: { ...none, definition: both, run: both, pool: 'GetItem' },
      sweeper: { ...none, definition: both, run: both, schedule: both, backfill: both, gate: both, pool: 'GetItem' },
      timer: { ...none, definition: both, run: both, schedule: both, backfill: both, gate: both, pool: 'GetItem' },
      // getSchedule, getDefinition / latestDefinition (a Query), getRun of a run a repeated tick made.
      scheduler: { ...none, definition: both, run: 'GetItem', schedule: 'GetItem' },
      // getTask, tasksByPrefix.
      'sfn-events': { ...none, run: both },
    });
  });

  it('lets only the API and the worker (dependent tasks) query the runs index, and only the sweeper and the scheduler query the due index', () => {
    for (const n of names) {
      expect(can(n, 'Query', 'WF#wf', `${TABLE}/index/runsByWorkflow`), n).toBe(n === 'api' || n === 'worker');
      expect(can(n, 'Query', 'DUE#0', `${TABLE}/index/due`), n).toBe(n === 'sweeper' || n === 'scheduler');
    }
  });

  it('lets exactly the dispatchers invoke the worker, and the timer users send to the timer queue', () => {
    const worker = `${s.fnId('worker')}.Arn`;
    const queue = `${s.id(s.stack.baton.timerQueue)}.Arn`;
    for (const n of names) {
      expect(allows(s.statements(n), 'lambda:InvokeFunction', worker), n).toBe(!['worker', 'scheduler'].includes(n));
      // The API too: a run it starts inline gets its clock's timer from it (functions/orchestrator/run-start.ts).
      expect(allows(s.statements(n), 'sqs:SendMessage', queue), n).toBe(n !== 'sfn-events');
      expect(allows(s.statements(n), 'sqs:DeleteMessage', queue), n).toBe(n === 'timer');
    }
  });

  it('lets the worker call no functions or state machines of its own accord', () => {
    const other = (n: HandlerName) => actionsOf(s.statements(n)).filter((a) => a.startsWith('states:') || a === 'lambda:InvokeFunction');
    expect(other('worker')).toEqual([]);
    for (const n of names.filter((x) => x !== 'worker'))
      expect(
        other(n).filter((a) => a !== 'lambda:InvokeFunction'),
        n,
      ).toEqual([]);
  });

  it('uses Resource * only for actions that have no resource-level permissions', () => {
    const allowedStar = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams']);
    // Baton's own policies and roles; CDK's bucket-deployment function (which uploads the console's
    // files, with aws-cdk-lib's role and policy) is checked and acknowledged in nag.test.ts.
    const cdkOwned = (id: string) => id.startsWith('CustomCDKBucketDeployment');
    for (const [id, p] of resources('AWS::IAM::Policy')) {
      if (cdkOwned(id)) continue;
      for (const st of p.Properties.PolicyDocument.Statement) {
        if ([st.Resource].flat().includes('*')) for (const a of [st.Action].flat()) expect(allowedStar).toContain(a);
      }
    }
    expect(resources('AWS::IAM::Role').filter(([id, r]) => !cdkOwned(id) && r.Properties.ManagedPolicyArns !== undefined)).toEqual([]);
  });
});

describe('the master stream source', () => {
  const [, esm] = resources('AWS::Lambda::EventSourceMapping').find(
    ([, r]) => r.Properties.EventSourceArn['Fn::GetAtt']?.[1] === 'StreamArn',
  )!;
  const filters = esm.Properties.FilterCriteria.Filters;
  const image = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { S: v }]));
  const rec = (eventName: string, next?: Record<string, string>, prev?: Record<string, string>) => ({
    eventName,
    dynamodb: { ...(next ? { NewImage: image(next) } : {}), ...(prev ? { OldImage: image(prev) } : {}) },
  });

  it('belongs to the master and is bounded: bisect, retries, batch item failures, dead letters', () => {
    expect(esm.Properties).toMatchObject({
      FunctionName: { Ref: s.fnId('master') },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      ParallelizationFactor: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [s.id(s.stack.baton.deadLetterQueues.stream), 'Arn'] } } },
    });
    custom.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ParallelizationFactor: 5 });
  });

  it('passes exactly the records the master acts on', () => {
    const pass = (r: unknown) => passesFilters(filters, r);
    expect(pass(rec('INSERT', { kind: 'run', status: 'queued' }))).toBe(true);
    // A run whose start nothing gates is created running: that record is its start.
    expect(pass(rec('INSERT', { kind: 'run', status: 'running' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'run', status: 'queued' }, { kind: 'run', status: 'pending' }))).toBe(true);
    // A run turned away by its concurrency gate, and a pending run cancelled, end there.
    expect(pass(rec('MODIFY', { kind: 'run', status: 'skipped' }, { kind: 'run', status: 'queued' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'run', status: 'cancelled' }, { kind: 'run', status: 'pending' }))).toBe(true);
    for (const st of ['succeeded', 'failed', 'cancelled', 'skipped'])
      expect(pass(rec('MODIFY', { kind: 'run', status: st }, { kind: 'run', status: 'running' }))).toBe(true);
    for (const st of ['succeeded', 'failed', 'skipped'])
      expect(pass(rec('MODIFY', { kind: 'task', status: st }, { kind: 'task', status: 'running' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'task', status: 'skipped' }))).toBe(true);

    // Events (and the run clock): a run started or paused, a clock marked sla_missed.
    expect(pass(rec('MODIFY', { kind: 'run', status: 'running' }, { kind: 'run', status: 'queued' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'run', status: 'paused' }, { kind: 'run', status: 'running' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'clock', status: 'sla_missed' }, { kind: 'clock', status: 'armed' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'task', status: 'waiting', wake: 'retry' }, { kind: 'task', status: 'running' }))).toBe(true);
    // A suspended attempt (a wait, a callback) is not an event.
    expect(pass(rec('MODIFY', { kind: 'task', status: 'waiting', wake: 'resume' }, { kind: 'task', status: 'running' }))).toBe(false);
    // A watchdog bump or a recorded failure leaves the status alone: not worth an invocation.
    expect(pass(rec('MODIFY', { kind: 'run', status: 'running' }, { kind: 'run', status: 'running' }))).toBe(false);
    expect(pass(rec('MODIFY', { kind: 'clock', status: 'done' }, { kind: 'clock', status: 'armed' }))).toBe(false);
    expect(pass(rec('MODIFY', { kind: 'run', status: 'queued' }, { kind: 'run', status: 'queued' }))).toBe(false);
    expect(pass(rec('INSERT', { kind: 'run', status: 'pending' }))).toBe(false);
    expect(pass(rec('MODIFY', { kind: 'run', status: 'pending' }, { kind: 'run', status: 'queued' }))).toBe(false);
    for (const st of ['blocked', 'queued', 'running', 'waiting']) expect(pass(rec('MODIFY', { kind: 'task', status: st }))).toBe(false);
    expect(pass(rec('INSERT', { kind: 'task', status: 'queued' }))).toBe(false);
    expect(pass(rec('INSERT', { kind: 'child', status: 'succeeded' }))).toBe(false);
    expect(pass(rec('INSERT', { pk: 'DEF#wf', sk: 'V#1' }))).toBe(false);
    expect(pass(rec('REMOVE', undefined, { kind: 'run', status: 'succeeded' }))).toBe(false);
  });
});

describe('the table', () => {
  const [, table] = resources('AWS::DynamoDB::Table')[0]!;
  const def = tableDefinition('x');

  it('is retained, deletion-protected, point-in-time recoverable, on demand, with TTL and a stream', () => {
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('has the keys and indexes of tableDefinition(), so the engine and the cloud agree', () => {
    expect(table.Properties.KeySchema).toEqual(def.KeySchema);
    expect(new Set(table.Properties.AttributeDefinitions.map(JSON.stringify))).toEqual(
      new Set(def.AttributeDefinitions?.map((a) => JSON.stringify(a))),
    );
    const norm = (g: any) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection });
    expect(table.Properties.GlobalSecondaryIndexes.map(norm)).toEqual(def.GlobalSecondaryIndexes?.map(norm));
  });

  it('can be made disposable for test stacks', () => {
    const t = custom.json;
    const [, tt] = Object.entries(t.Resources as Record<string, any>).find(([, r]) => r.Type === 'AWS::DynamoDB::Table')!;
    expect(tt.DeletionPolicy).toBe('Delete');
    expect(tt.Properties.DeletionProtectionEnabled).toBe(false);
  });
});

describe('the HTTP API', () => {
  /** The routes of Baton's own API, never the console's (a second API on the same function). */
  const routesOf = ({ json, apiId }: typeof s) =>
    Object.values(json.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.ApiId.Ref === apiId)
      .map((r) => r.Properties);
  const CALLBACK = 'POST /callbacks/{token}';

  it('requires IAM on every route by default, without CORS, but for the callback route', () => {
    const routes = routesOf(s);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['ANY /{proxy+}', CALLBACK]);
    for (const r of routes) expect(r.AuthorizationType, r.RouteKey).toBe(r.RouteKey === CALLBACK ? 'NONE' : 'AWS_IAM');
    expect(s.json.Resources[s.apiId].Properties.CorsConfiguration).toBeUndefined();
  });

  it('opens the callback route without an authorizer, with either kind of auth: the token is the credential', () => {
    for (const t of [s, custom]) {
      const [cb] = routesOf(t).filter((r) => r.RouteKey === CALLBACK);
      expect(cb).toMatchObject({ AuthorizationType: 'NONE' });
      expect(cb.AuthorizerId).toBeUndefined();
      expect(cb.AuthorizationScopes).toBeUndefined();
      // The same integration (the api function) as every other route.
      const [other] = routesOf(t).filter((r) => r.RouteKey !== CALLBACK);
      expect(cb.Target).toEqual(other.Target);
    }
  });

  it('names the route the API code serves, and only its method', async () => {
    const app = createApp({ log: { error() {} } } as unknown as Deps);
    const path = CALLBACK.split(' ')[1]!.replace('{token}', 'v1.x.y');
    // A bad body is answered before anything is looked up: the app serves POST on this path...
    const posted = await app.request(path, { method: 'POST', body: 'not json' });
    expect(posted.status).toBe(400);
    expect(((await posted.json()) as any).error.code).toBe('bad_json');
    // ...and nothing else: other methods (authorized by the catch-all route) find no route.
    const got = await app.request(path, { method: 'GET' });
    expect([got.status, ((await got.json()) as any).error.code]).toEqual([404, 'not_found']);
  });

  it('throttles and writes access logs', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('requestId'),
      },
    });
  });

  it('takes a JWT authorizer on every route, and CORS when configured', () => {
    const j = custom;
    j.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['baton'] },
    });
    const routes = routesOf(j).filter((r) => r.RouteKey !== CALLBACK);
    expect(routes).toHaveLength(1);
    const [authorizerId] = Object.entries(j.json.Resources as Record<string, any>).find(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer' && r.Properties.ApiId.Ref === j.apiId,
    )!;
    for (const r of routes) {
      expect(r).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizerId },
        AuthorizationScopes: ['baton/run'],
      });
    }
    expect(j.json.Resources[j.apiId].Properties.CorsConfiguration).toMatchObject({ AllowOrigins: ['https://console.example.com'] });
  });
});

describe('asynchronous work', () => {
  it('retries a failed worker invocation twice, then dead-letters it', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: s.fnId('worker') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [s.id(s.stack.baton.deadLetterQueues.worker), 'Arn'] } } },
    });
  });

  it('feeds the timer function from the timer queue with batch item failures, and dead-letters poison messages', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: s.fnId('timer') },
      EventSourceArn: { 'Fn::GetAtt': [s.id(s.stack.baton.timerQueue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [s.id(s.stack.baton.deadLetterQueues.timer), 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('runs the sweeper and the scheduler every minute, without retrying a missed tick', () => {
    for (const n of ['sweeper', 'scheduler'] as const) {
      s.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [s.fnId(n), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
      });
    }
  });

  it('feeds sfn-events the status changes of Step Functions executions that the handler acts on', async () => {
    const rules = resources('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.Targets).toEqual([{ Arn: { 'Fn::GetAtt': [s.fnId('sfn-events'), 'Arn'] }, Id: 'Target0' }]);
    const pattern = rule.Properties.EventPattern;
    const handler = sfnEventsHandler(() => ({ log: { debug() {} } }) as unknown as Deps);
    // Every status an execution can report (DescribeExecution's ExecutionStatus).
    for (const status of ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']) {
      const event = {
        version: '0',
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:not-baton', name: 'not-baton', status },
      };
      // A name Baton does not make: a status the handler acts on gets as far as the name, no further.
      const result = await handler(event as never);
      expect(result, status).not.toBe('ignored_event');
      expect(passesFilters([{ Pattern: JSON.stringify(pattern) }], event), status).toBe(result !== 'ignored_status');
    }
  });

  it('encrypts every queue and refuses plain HTTP to it', () => {
    const queues = resources('AWS::SQS::Queue');
    expect(queues).toHaveLength(4);
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    expect(resources('AWS::SQS::QueuePolicy')).toHaveLength(4);
  });
});

describe('what tasks call: taskFunctions and taskStateMachines', () => {
  const fn = 'arn:aws:lambda:eu-west-1:123456789012:function:resize';
  const machine = 'arn:aws:states:eu-west-1:123456789012:stateMachine:payments';
  const t = synth({
    baton: {
      taskFunctions: [fn, 'arn:aws:lambda:eu-west-1:123456789012:function:etl:live'],
      taskStateMachines: [machine, 'arn:aws:states:eu-west-1:123456789012:stateMachine:billing:prod'],
    },
  });
  const w = t.statements('worker');

  it('lets the worker invoke the listed functions, an unqualified one with its versions and aliases', () => {
    const invoke = (arn: string) => allows(w, 'lambda:InvokeFunction', arn);
    expect(invoke(fn)).toBe(true);
    expect(invoke(`${fn}:live`)).toBe(true);
    expect(invoke(`${fn}:$LATEST`)).toBe(true);
    expect(invoke('arn:aws:lambda:eu-west-1:123456789012:function:etl:live')).toBe(true);
    expect(invoke('arn:aws:lambda:eu-west-1:123456789012:function:etl')).toBe(false);
    expect(invoke('arn:aws:lambda:eu-west-1:123456789012:function:etl:other')).toBe(false);
    expect(invoke('arn:aws:lambda:eu-west-1:123456789012:function:resize2')).toBe(false);
    expect(invoke(`${t.fnId('api')}.Arn`)).toBe(false);
    // Nobody else gains anything.
    for (const n of names.filter((x) => x !== 'worker')) expect(allows(t.statements(n), 'lambda:InvokeFunction', fn), n).toBe(false);
  });

  it('lets the worker start the listed state machines, and describe and stop only their executions', () => {
    expect(allows(w, 'states:StartExecution', machine)).toBe(true);
    expect(allows(w, 'states:StartExecution', 'arn:aws:states:eu-west-1:123456789012:stateMachine:other')).toBe(false);
    for (const a of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(allows(w, a, 'arn:aws:states:eu-west-1:123456789012:execution:payments:r1_1_charge'), a).toBe(true);
      expect(allows(w, a, 'arn:aws:states:eu-west-1:123456789012:execution:billing:r1_1_bill'), a).toBe(true);
      expect(allows(w, a, 'arn:aws:states:eu-west-1:123456789012:execution:other:r1_1_x'), a).toBe(false);
      expect(allows(w, a, machine), a).toBe(false);
    }
    expect(allows(w, 'states:StartExecution', 'arn:aws:states:eu-west-1:123456789012:execution:payments:x')).toBe(false);
    expect(
      actionsOf(w)
        .filter((a) => a.startsWith('states:'))
        .sort(),
    ).toEqual(['states:DescribeExecution', 'states:StartExecution', 'states:StartExecution', 'states:StopExecution']);
  });

  it('grants a qualified state machine as IAM authorizes it: the state machine, for that qualifier only', () => {
    const qualified = w.filter((st) => st.Condition && [st.Action].flat().includes('states:StartExecution'));
    expect(qualified).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: 'arn:aws:states:eu-west-1:123456789012:stateMachine:billing',
        Condition: { StringEquals: { 'states:StateMachineQualifier': ['prod'] } },
      },
    ]);
  });

  it('takes tokens as unqualified ARNs, and derives the executions ARN with intrinsics', () => {
    const k = synth({ baton: { taskFunctions: [Fn.importValue('fn-arn')], taskStateMachines: [Fn.importValue('machine-arn')] } });
    const ws = k.statements('worker');
    const imported = (name: string) => ({ 'Fn::ImportValue': name });
    expect(ws.find((st) => st.Action === 'lambda:InvokeFunction')?.Resource).toEqual([
      imported('fn-arn'),
      { 'Fn::Join': ['', [imported('fn-arn'), ':*']] },
    ]);
    expect(ws.find((st) => st.Action === 'states:StartExecution')?.Resource).toEqual(imported('machine-arn'));
    const executions = JSON.stringify(ws.find((st) => [st.Action].flat().includes('states:DescribeExecution'))?.Resource);
    expect(executions).toContain(':execution:');
    expect(executions).toContain('"Fn::Select":[6,{"Fn::Split":[":",{"Fn::ImportValue":"machine-arn"}]}]');
  });

  it('refuses what is not a function or state machine ARN', () => {
    expect(() => synth({ baton: { taskFunctions: ['resize'] } })).toThrow(/taskFunctions: "resize" is not a Lambda function ARN/);
    expect(() => synth({ baton: { taskStateMachines: [fn] } })).toThrow(/taskStateMachines: .* is not a state machine ARN/);
  });
});

describe('alarms', () => {
  const alarms = resources('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const on = (metric: string, dim?: unknown) =>
    alarms.filter(
      (a) => a.MetricName === metric && (dim === undefined || JSON.stringify(a.Dimensions ?? []).includes(JSON.stringify(dim))),
    );

  it('watches every dead-letter queue', () => {
    for (const q of Object.values(s.stack.baton.deadLetterQueues)) {
      expect(on('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [s.id(q), 'QueueName'] })).toHaveLength(1);
    }
  });

  it('watches errors and throttles of every function, and the master iterator age', () => {
    for (const n of names) {
      expect(on('Errors', { Ref: s.fnId(n) }), n).toHaveLength(1);
      expect(on('Throttles', { Ref: s.fnId(n) }), n).toHaveLength(1);
    }
    expect(on('IteratorAge', { Ref: s.fnId('master') })[0]).toMatchObject({ Threshold: 120000, Statistic: 'Maximum' });
  });

  it('alarms on the LeasesReclaimed metric the sweeper emits (EMF), not on a log filter that a log level could silence', () => {
    expect(s.template.findResources('AWS::Logs::MetricFilter')).toEqual({});
    expect(on('LeasesReclaimed')[0]).toMatchObject({
      Namespace: 'Baton/Baton',
      Statistic: 'Sum',
      Threshold: 1,
      Dimensions: [{ Name: 'service', Value: 'baton' }],
    });
    // Every Baton function emits into the namespace the alarms read.
    for (const n of names) {
      expect(s.json.Resources[s.fnId(n)].Properties.Environment.Variables, n).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'Baton/Baton',
      });
    }
  });

  it('notifies the alarm topic when one is given, and can be turned off', () => {
    const [topicId] = Object.entries(custom.json.Resources as Record<string, any>).find(([, r]) => r.Type === 'AWS::SNS::Topic')!;
    custom.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId },
    });
    const all = Object.values(custom.json.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(all.length).toBe(alarms.length);
    for (const a of all) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    for (const a of alarms) expect(a.AlarmActions).toBeUndefined();
    const none = synth({ baton: { alarms: false } });
    expect(Object.values(none.json.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')).toHaveLength(0);
  });
});

describe('outputs', () => {
  it('publishes the API URL and the table name', () => {
    s.template.hasOutput('ApiUrl', { Value: Match.anyValue() });
    s.template.hasOutput('TableName', { Value: { Ref: s.id(s.stack.baton.table) } });
  });
});

/** A dependency cycle among the template's resources (Ref, Fn::GetAtt, DependsOn), as logical ids, or undefined. */
function findCycle(template: any): string[] | undefined {
  const resources = template.Resources as Record<string, any>;
  const edges = (id: string): string[] => {
    const out = new Set<string>([resources[id].DependsOn ?? []].flat());
    const walk = (v: any) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        if (typeof v.Ref === 'string') out.add(v.Ref);
        if (Array.isArray(v['Fn::GetAtt'])) out.add(v['Fn::GetAtt'][0]);
        Object.values(v).forEach(walk);
      }
    };
    walk(resources[id].Properties);
    return [...out].filter((x) => x in resources);
  };
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    for (const next of edges(id)) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of Object.keys(resources)) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}
