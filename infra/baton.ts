import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { CorsPreflightOptions } from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE_VARIABLE } from '../functions/common/metrics.js';
import { BatonAlarms } from './alarms.js';
import { BatonFunction } from './baton-function.js';
import { BatonConsole, type BatonConsoleProps } from './console.js';
import { configureEventBus } from './event-bus.js';
import { HANDLERS, type HandlerName, type HandlerSpec } from './handlers.js';
import { type BatonAuth, BatonHttpApi } from './http-api.js';
import { ParkedRecordsAlarm } from './parked-alarm.js';
import { BatonTable } from './table.js';
import { nagResourceName, taskTargetAccess } from './task-access.js';
import { type BatonEgress, type BatonSecrets, configureTaskEgress } from './task-egress.js';

export interface BatonProps {
  /** @default - a name CloudFormation generates */
  readonly tableName?: string;
  /** What happens to the table (and every workflow and run in it) when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /** @default true */
  readonly deletionProtection?: boolean;
  /**
   * How long finished runs are kept before DynamoDB's TTL deletes them. Passed to every function as
   * `BATON_RUN_RETENTION_DAYS` (whole days); the engine stamps `expiresAt` on items as they finish.
   * `Duration.days(0)` keeps them forever.
   * @default Duration.days(90)
   */
  readonly runRetention?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** `BATON_LOG_LEVEL` of every function. @default 'info' */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** X-Ray active tracing on every function. @default true */
  readonly tracing?: boolean;

  /** How long a worker's claim lasts without a heartbeat (`BATON_LEASE_MS`). @default Duration.seconds(30) */
  readonly leaseDuration?: Duration;
  /** How often a running run is checked for lost events (`BATON_WATCHDOG_MS`). @default Duration.minutes(5) */
  readonly watchdogInterval?: Duration;
  /** Lost leases tolerated per task before it fails with reason `lost` (`BATON_MAX_LOST`). @default 3 */
  readonly maxLostLeases?: number;
  /** Shards of the due-time index (`BATON_DUE_SHARDS`). Change only on an empty table. @default 4 */
  readonly dueShards?: number;
  /** How often the sweeper runs. @default Duration.minutes(1) */
  readonly sweepInterval?: Duration;

  /** @default Duration.minutes(15) */
  readonly workerTimeout?: Duration;
  /** @default 512 */
  readonly workerMemorySize?: number;
  /**
   * ARNs of the Lambda functions that `lambda` tasks may invoke. The worker gets
   * `lambda:InvokeFunction` on each: on an unqualified ARN and its versions and aliases
   * (`arn:…:function:name:*`, what a task's `qualifier` calls), or on a qualified ARN
   * (`…:function:name:live`) only. A `*` in the name is kept as written; a CDK token
   * (`fn.functionArn`) is taken as an unqualified ARN. A function in another account must also allow
   * the worker's role in its own resource policy.
   * @default - none: a `lambda` task fails with `AccessDeniedException` (reason `aws_error`, not retried)
   */
  readonly taskFunctions?: readonly string[];
  /**
   * ARNs of the (Standard) state machines that `stepfunctions` tasks may run. The worker gets
   * `states:StartExecution` on each, and `states:DescribeExecution` and `states:StopExecution` on its
   * executions (`arn:…:execution:name:*`). A qualified ARN (`…:stateMachine:name:prod`) allows
   * starting only that version or alias (a `states:StateMachineQualifier` condition on the state
   * machine, which is what Step Functions authorizes against). A CDK token
   * (`stateMachine.stateMachineArn`) is taken as an unqualified ARN.
   * @default - none: a `stepfunctions` task fails with `AccessDeniedException` (reason `aws_error`, not retried)
   */
  readonly taskStateMachines?: readonly string[];
  /**
   * The base URL that asynchronous `lambda` tasks are told to report to
   * (`baton.callbackUrl` = this + `callbacks/{token}`), set as the worker's `BATON_API_URL`. Set it
   * when callers reach the API through another address, such as a custom domain.
   * @default - the HTTP API's own URL (`apiUrl`)
   */
  readonly callbackBaseUrl?: string;
  /** Where `http` tasks may connect; link-local and metadata addresses never. @default - public addresses, any port */
  readonly egress?: BatonEgress;
  /** Where `${secrets.NAME}` is read; the worker may read only there. @default - Secrets Manager, prefix `baton/` */
  readonly secrets?: BatonSecrets;
  /** Extra permissions for the worker, for whatever else tasks call. @default - none */
  readonly workerPolicyStatements?: readonly iam.PolicyStatement[];
  /** Retries of a failed asynchronous worker invocation before it goes to the worker dead-letter queue. @default 2 */
  readonly workerRetryAttempts?: number;

  /** Retries of a failing stream batch (halved by bisection first) before it goes to the stream dead-letter queue. @default 10 */
  readonly streamRetryAttempts?: number;
  /** Concurrent master invocations per stream shard; records of one run stay in order. @default 2 */
  readonly streamParallelization?: number;
  /** @default 100 */
  readonly streamBatchSize?: number;

  /** @default { type: 'iam' } */
  readonly auth?: BatonAuth;
  /** The web console (CloudFront, Cognito sign-in, its own JWT-authorized API): see `console.ts`; `false` leaves it out. @default true */
  readonly console?: boolean | Omit<BatonConsoleProps, 'handler' | 'logRetention'>;
  /** @default - no CORS */
  readonly cors?: CorsPreflightOptions;
  /** Requests per second the API accepts in steady state. @default 100 */
  readonly apiRateLimit?: number;
  /** @default 200 */
  readonly apiBurstLimit?: number;

  /** Create the alarms (about $0.10 a month each). @default true */
  readonly alarms?: boolean;
  /** Where alarms notify. @default - alarms without actions */
  readonly alarmTopic?: ITopic;
  /** @default Duration.minutes(2) */
  readonly iteratorAgeAlarmThreshold?: Duration;
  /** Leases reclaimed in five minutes that raise the alarm. @default 1 */
  readonly leasesReclaimedAlarmThreshold?: number;
  /** CloudWatch namespace of Baton's own metrics. @default `Baton/<stack name>` */
  readonly metricNamespace?: string;
  /** Where run and task events are put (docs/events.md). @default - a new bus */
  readonly eventBus?: events.IEventBus;
}

/**
 * All of Baton in one construct: the table, the functions (each with exactly the permissions its
 * code uses), their triggers, the HTTP API, dead-letter queues and alarms. Usable in any CDK app.
 */
export class Baton extends Construct {
  readonly table: dynamodb.Table;
  readonly functions: Readonly<Record<HandlerName, BatonFunction>>;
  readonly httpApi: BatonHttpApi;
  readonly timerQueue: sqs.Queue;
  readonly deadLetterQueues: Readonly<Record<'worker' | 'stream' | 'timer', sqs.Queue>>;
  readonly alarms?: BatonAlarms;
  readonly console?: BatonConsole;
  /** The bus run and task events go to. */
  readonly eventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: BatonProps = {}) {
    super(scope, id);
    this.table = new BatonTable(this, 'Table', {
      tableName: props.tableName,
      removalPolicy: props.tableRemovalPolicy,
      deletionProtection: props.deletionProtection,
    }).table;

    const dlq = (name: string) =>
      new sqs.Queue(this, `${name}DeadLetters`, {
        retentionPeriod: Duration.days(14),
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
      });
    this.deadLetterQueues = { worker: dlq('Worker'), stream: dlq('Stream'), timer: dlq('Timer') };
    for (const q of [this.deadLetterQueues.worker, this.deadLetterQueues.stream]) {
      // cdk-nag recognises only queues named in another queue's redrive policy as dead-letter queues.
      Validations.of(q).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue is a dead-letter queue: the on-failure destination of the worker's async invocations or of the stream event source. It has an alarm on its depth.",
      });
    }

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const metricNamespace = props.metricNamespace ?? `Baton/${Stack.of(this).stackName}`;
    const environment = {
      BATON_LEASE_MS: String((props.leaseDuration ?? Duration.seconds(30)).toMilliseconds()),
      BATON_WATCHDOG_MS: String((props.watchdogInterval ?? Duration.minutes(5)).toMilliseconds()),
      BATON_MAX_LOST: String(props.maxLostLeases ?? 3),
      BATON_DUE_SHARDS: String(props.dueShards ?? 4),
      BATON_RUN_RETENTION_DAYS: String(retentionDays(props.runRetention ?? Duration.days(90))),
      BATON_LOG_LEVEL: props.logLevel ?? 'info',
      [METRICS_NAMESPACE_VARIABLE]: metricNamespace,
    };
    const overrides: Partial<Record<HandlerName, Partial<HandlerSpec>>> = {
      worker: { timeout: props.workerTimeout, memorySize: props.workerMemorySize },
      sweeper: props.sweepInterval ? { trigger: { type: 'schedule', every: props.sweepInterval } } : {},
    };
    const functions = {} as Record<HandlerName, BatonFunction>;
    const specs = (Object.entries(HANDLERS) as [HandlerName, HandlerSpec][]).map(
      ([name, base]) => [name, { ...base, ...definedOnly(overrides[name] ?? {}) }] as [HandlerName, HandlerSpec],
    );
    for (const [name, spec] of specs) {
      functions[name] = new BatonFunction(this, pascal(name), {
        handler: name,
        description: spec.description,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        logRetention,
        tracing: props.tracing,
        environment,
      }).useTable(this.table, spec.table);
    }
    this.functions = functions;

    // The worker is the function the dispatchers invoke; the timer function drains the timer queue.
    const worker = functions[onlyOne(specs, 'dispatch')];
    this.eventBus = configureEventBus(this, functions.master, props.eventBus);
    worker.configureAsyncInvoke({
      retryAttempts: props.workerRetryAttempts ?? 2,
      onFailure: new SqsDestination(this.deadLetterQueues.worker),
    });
    const webhookSenders = specs.filter(([, spec]) => spec.deliversWebhooks).map(([name]) => functions[name]);
    configureTaskEgress(this, worker, props.egress, props.secrets, webhookSenders);
    // A worker that ends an attempt advances the run inline and dispatches the successors it does not run
    // itself (functions/orchestrator/worker.ts): it invokes its own function. A role policy naming the
    // worker's ARN would be a cycle (the function waits for its role's policy), so the grant is the
    // function's resource policy naming its role, and the name comes from Lambda's own environment.
    worker.addPermission('InlineDispatch', { principal: new iam.ArnPrincipal(worker.role!.roleArn), action: 'lambda:InvokeFunction' });
    worker.addEnvironment('BATON_DISPATCH_TO_SELF', '1');
    const taskAccess = taskTargetAccess(this, { functions: props.taskFunctions, stateMachines: props.taskStateMachines });
    for (const s of [...taskAccess.statements, ...(props.workerPolicyStatements ?? [])]) worker.addToRolePolicy(s);
    for (const resource of taskAccess.derivedWildcards) {
      Validations.of(worker.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResourceName(this, resource)}]`,
        reason:
          'Derived from a function or state machine listed in taskFunctions or taskStateMachines: the versions and aliases of that function, or the executions of that state machine (their names are only known at run time).',
      });
    }

    const timerFn = functions[onlyOne(specs, 'timers')];
    this.timerQueue = new sqs.Queue(this, 'TimerQueue', {
      // AWS's advice: at least six times the consumer's timeout, so a retried batch is not redelivered early.
      visibilityTimeout: Duration.seconds(6 * (timerFn.timeout ?? Duration.seconds(30)).toSeconds()),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: this.deadLetterQueues.timer, maxReceiveCount: 5 },
    });

    for (const [name, spec] of specs) {
      const fn = functions[name];
      if (spec.dispatches) fn.useWorker(worker);
      if (spec.sendsTimers) fn.useTimerQueue(this.timerQueue);
    }

    let api: BatonHttpApi | undefined;
    for (const [name, spec] of specs) {
      const fn = functions[name];
      const t = spec.trigger;
      switch (t.type) {
        case 'http':
          api = new BatonHttpApi(this, 'Http', {
            handler: fn,
            auth: props.auth ?? { type: 'iam' },
            cors: props.cors,
            rateLimit: props.apiRateLimit ?? 100,
            burstLimit: props.apiBurstLimit ?? 200,
            logRetention,
          });
          break;
        case 'stream':
          Validations.of(fn.role!).acknowledge({
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'dynamodb:ListStreams (added by the stream event source) has no resource-level permissions; X-Ray likewise. The stream itself is read through its ARN only.',
          });
          // The master parks a record after this many failures: fewer than the mapping's retries, so its run fails first.
          fn.addEnvironment('BATON_STREAM_MAX_ATTEMPTS', String(Math.max(1, Math.min(5, props.streamRetryAttempts ?? 10))));
          fn.addEventSource(
            new DynamoEventSource(this.table, {
              startingPosition: lambda.StartingPosition.TRIM_HORIZON,
              batchSize: props.streamBatchSize ?? 100,
              bisectBatchOnError: true,
              retryAttempts: props.streamRetryAttempts ?? 10,
              reportBatchItemFailures: true,
              parallelizationFactor: props.streamParallelization ?? 2,
              onFailure: new SqsDlq(this.deadLetterQueues.stream),
              filters: [...t.filters],
            }),
          );
          break;
        case 'timers':
          fn.addEventSource(new SqsEventSource(this.timerQueue, { batchSize: 10, reportBatchItemFailures: true }));
          break;
        case 'schedule':
          new events.Rule(this, `${pascal(name)}Schedule`, {
            description: `Runs the Baton ${name}`,
            schedule: events.Schedule.rate(t.every),
            // A missed tick is covered by the next one; retrying it would only pile ticks up.
            targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
          });
          break;
        case 'events':
          new events.Rule(this, `${pascal(name)}Rule`, {
            description: `Feeds the Baton ${name}`,
            eventPattern: t.pattern,
            targets: [new targets.LambdaFunction(fn)],
          });
          break;
        case 'dispatch':
          break;
      }
    }
    if (!api) throw new Error('no handler has an http trigger');
    this.httpApi = api;
    if (props.console !== false)
      this.console = new BatonConsole(this, 'Console', {
        ...(props.console === true || props.console === undefined ? {} : props.console),
        handler: functions.api,
        logRetention,
      });
    // Asynchronous `lambda` tasks hand their function this URL to report to. No dependency cycle: the
    // URL names only the API resource, which depends on nothing of the worker (the route
    // integration depends on the api function, which depends on the worker, not the other way).
    worker.addEnvironment('BATON_API_URL', props.callbackBaseUrl ?? api.url);

    if (props.alarms !== false) {
      this.alarms = new BatonAlarms(this, 'Alarms', {
        functions,
        deadLetterQueues: this.deadLetterQueues,
        streamConsumer: functions[onlyOne(specs, 'stream')],
        iteratorAgeThreshold: props.iteratorAgeAlarmThreshold ?? Duration.minutes(2),
        leasesReclaimedThreshold: props.leasesReclaimedAlarmThreshold ?? 1,
        metricNamespace,
        topic: props.alarmTopic,
      });
      new ParkedRecordsAlarm(this, 'ParkedRecords', {
        metricNamespace,
        topic: props.alarmTopic,
      });
    }
  }

  /** The API's base URL, ending in `/`. */
  get apiUrl(): string {
    return this.httpApi.url;
  }
}

/** `sfn-events` → `SfnEvents`: construct ids, and so logical ids, of a handler's resources. */
function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_, _dash: string, c: string) => c.toUpperCase());
}

/** Whole days, as `BATON_RUN_RETENTION_DAYS` takes them (the engine reads an integer). */
function retentionDays(d: Duration): number {
  const days = d.toSeconds({ integral: false }) / 86_400;
  if (!Number.isInteger(days) || days < 0) throw new Error(`runRetention must be a whole number of days, got ${d.toHumanString()}`);
  return days;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The one handler with this kind of trigger. */
function onlyOne(specs: [HandlerName, HandlerSpec][], type: HandlerSpec['trigger']['type']): HandlerName {
  const found = specs.filter(([, s]) => s.trigger.type === type);
  if (found.length !== 1) throw new Error(`exactly one handler must have a ${type} trigger, found ${found.length}`);
  return found[0]![0];
}
