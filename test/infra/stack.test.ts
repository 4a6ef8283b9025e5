import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
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
    for (const n of ['api', 'sweeper', 'timer'] as const) expect(timeout(n)).toBeLessThanOrEqual(30);
  });

  it('gives every function the engine settings, and the worker and timer queue to those that use them', () => {
    const env = (n: HandlerName) => s.json.Resources[s.fnId(n)].Properties.Environment.Variables;
    for (const n of names) {
      expect(env(n)).toMatchObject({
        BATON_TABLE: { Ref: s.id(s.stack.baton.table) },
        BATON_LEASE_MS: '30000',
        BATON_WATCHDOG_MS: '300000',
        BATON_MAX_LOST: '3',
        BATON_DUE_SHARDS: '4',
        BATON_LOG_LEVEL: 'info',
      });
      expect(env(n).BATON_WORKER_FUNCTION).toEqual(n === 'worker' ? undefined : { Ref: s.fnId('worker') });
      expect(env(n).BATON_TIMER_QUEUE_URL).toEqual(n === 'api' ? undefined : { Ref: s.id(s.stack.baton.timerQueue) });
    }
  });

  it('honours the knobs', () => {
    const custom = synth({
      baton: { leaseDuration: Duration.seconds(10), workerTimeout: Duration.minutes(5), sweepInterval: Duration.minutes(2) },
    });
    expect(custom.json.Resources[custom.fnId('worker')].Properties.Timeout).toBe(300);
    expect(custom.json.Resources[custom.fnId('api')].Properties.Environment.Variables.BATON_LEASE_MS).toBe('10000');
    custom.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
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

  it('lets each function write only the partitions its code writes', () => {
    const samples = {
      definition: 'DEF#wf',
      workflowList: 'WORKFLOWS',
      run: 'RUN#r1',
      schedule: 'SCHED#wf',
      backfill: 'BACKFILL#b1',
      gate: 'CONC#wf',
    };
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
    const none = { definition: '', workflowList: '', run: '', schedule: '', backfill: '', gate: '' };
    expect(writes).toEqual({
      api: {
        ...none,
        definition: 'PutItem',
        workflowList: 'UpdateItem',
        run: 'PutItem,UpdateItem',
        schedule: 'PutItem,UpdateItem,DeleteItem',
        backfill: 'PutItem,UpdateItem',
      },
      master: { ...none, run: 'PutItem,UpdateItem', backfill: 'UpdateItem', gate: 'UpdateItem' },
      worker: { ...none, run: 'PutItem,UpdateItem' },
      sweeper: { ...none, run: 'PutItem,UpdateItem', schedule: 'UpdateItem', backfill: 'UpdateItem', gate: 'UpdateItem' },
      timer: { ...none, run: 'PutItem,UpdateItem', schedule: 'UpdateItem', backfill: 'UpdateItem', gate: 'UpdateItem' },
    });
  });

  it('lets the worker read only runs and definitions, and only the API and sweeper query an index', () => {
    expect(can('worker', 'GetItem', 'DEF#wf')).toBe(true);
    expect(can('worker', 'Query', 'RUN#r1')).toBe(true);
    for (const pk of ['WORKFLOWS', 'SCHED#wf', 'BACKFILL#b1', 'CONC#wf']) expect(can('worker', 'GetItem', pk), pk).toBe(false);
    for (const n of names) {
      expect(can(n, 'Query', 'WF#wf', `${TABLE}/index/runsByWorkflow`), n).toBe(n === 'api');
      expect(can(n, 'Query', 'DUE#0', `${TABLE}/index/due`), n).toBe(n === 'sweeper');
    }
  });

  it('lets exactly the dispatchers invoke the worker, and the timer users send to the timer queue', () => {
    const worker = `${s.fnId('worker')}.Arn`;
    const queue = `${s.id(s.stack.baton.timerQueue)}.Arn`;
    for (const n of names) {
      expect(allows(s.statements(n), 'lambda:InvokeFunction', worker), n).toBe(n !== 'worker');
      expect(allows(s.statements(n), 'sqs:SendMessage', queue), n).toBe(n !== 'api');
      expect(allows(s.statements(n), 'sqs:DeleteMessage', queue), n).toBe(n === 'timer');
    }
  });

  it('uses Resource * only for actions that have no resource-level permissions', () => {
    const allowedStar = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams']);
    for (const [, p] of resources('AWS::IAM::Policy')) {
      for (const st of p.Properties.PolicyDocument.Statement) {
        if ([st.Resource].flat().includes('*')) for (const a of [st.Action].flat()) expect(allowedStar).toContain(a);
      }
    }
    expect(resources('AWS::IAM::Role').every(([, r]) => r.Properties.ManagedPolicyArns === undefined)).toBe(true);
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
    expect(pass(rec('MODIFY', { kind: 'run', status: 'queued' }, { kind: 'run', status: 'pending' }))).toBe(true);
    for (const st of ['succeeded', 'failed', 'cancelled', 'skipped'])
      expect(pass(rec('MODIFY', { kind: 'run', status: st }, { kind: 'run', status: 'running' }))).toBe(true);
    for (const st of ['succeeded', 'failed', 'skipped'])
      expect(pass(rec('MODIFY', { kind: 'task', status: st }, { kind: 'task', status: 'running' }))).toBe(true);
    expect(pass(rec('MODIFY', { kind: 'task', status: 'skipped' }))).toBe(true);

    expect(pass(rec('MODIFY', { kind: 'run', status: 'running' }, { kind: 'run', status: 'queued' }))).toBe(false);
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
  it('requires IAM on every route by default, without CORS', () => {
    const routes = resources('AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(0);
    for (const [, r] of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
    const [, api] = resources('AWS::ApiGatewayV2::Api')[0]!;
    expect(api.Properties.CorsConfiguration).toBeUndefined();
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
    const routes = Object.values(j.json.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const [authorizerId] = Object.entries(j.json.Resources as Record<string, any>).find(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer',
    )!;
    for (const r of routes) {
      expect(r.Properties).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizerId },
        AuthorizationScopes: ['baton/run'],
      });
    }
    j.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: { AllowOrigins: ['https://console.example.com'] } });
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

  it('runs the sweeper every minute', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [s.fnId('sweeper'), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
  });

  it('encrypts every queue and refuses plain HTTP to it', () => {
    const queues = resources('AWS::SQS::Queue');
    expect(queues).toHaveLength(4);
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    expect(resources('AWS::SQS::QueuePolicy')).toHaveLength(4);
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

  it('turns the sweeper log line into LeasesReclaimed and alarms on it', () => {
    s.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: s.id(s.stack.baton.functions.sweeper.logs) },
      FilterPattern: '{ $.msg = "sweep" }',
      MetricTransformations: [{ MetricName: 'LeasesReclaimed', MetricNamespace: 'Baton/Baton', MetricValue: '$.reclaimed' }],
    });
    expect(on('LeasesReclaimed')[0]).toMatchObject({ Namespace: 'Baton/Baton', Statistic: 'Sum', Threshold: 1 });
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
