import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type TableGrant, tableStatements } from './table-access.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The newest Node.js runtime Lambda offers that this `aws-cdk-lib` knows. */
export const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * Lets CommonJS dependencies (pino, the AWS SDK's internals) call `require` inside an ESM bundle.
 * Aliased so that it cannot collide with a name esbuild chooses.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __batonCreateRequire } from 'node:module'; const require = __batonCreateRequire(import.meta.url);";

export interface BatonFunctionProps {
  /** Handler file in `functions/handlers/`, without `.ts`. Its export `handler` is the entry point. */
  readonly handler: string;
  readonly description?: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** @default true */
  readonly tracing?: boolean;
  readonly environment?: Record<string, string>;
}

/**
 * The one way Baton builds a Lambda function: an esbuild ESM bundle (no Docker, AWS SDK included so
 * that what the tests load is what runs), ARM64, the newest Node.js runtime, source maps, X-Ray, a
 * log group with retention, and a role that may write only to that log group until a `use*` method
 * grants it more.
 */
export class BatonFunction extends NodejsFunction {
  readonly logs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BatonFunctionProps) {
    const entry = `${PROJECT_ROOT}functions/handlers/${props.handler}.ts`;
    if (!existsSync(entry)) throw new Error(`no handler file ${entry}`);
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // Our own role instead of AWSLambdaBasicExecutionRole: logs go only to this function's log group.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Baton ${props.handler} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    super(scope, id, {
      entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: NODE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      tracing: props.tracing === false ? lambda.Tracing.DISABLED : lambda.Tracing.ACTIVE,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: NODE_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        bundleAwsSDK: true,
        forceDockerBundling: false,
      },
    });
    this.logs = logGroup;
    if (props.tracing !== false) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only xray:PutTraceSegments and xray:PutTelemetryRecords (added for active tracing) use Resource *: X-Ray has no resource-level permissions for them.',
      });
    }
  }

  /** Sets `BATON_TABLE` and grants exactly `grants` on the table. */
  useTable(table: ITable, grants: readonly TableGrant[]): this {
    this.addEnvironment('BATON_TABLE', table.tableName);
    for (const s of tableStatements(table, grants)) this.addToRolePolicy(s);
    return this;
  }

  /** Sets `BATON_WORKER_FUNCTION` and allows asynchronous invocation of the worker (the unqualified function only). */
  useWorker(worker: lambda.IFunction): this {
    this.addEnvironment('BATON_WORKER_FUNCTION', worker.functionName);
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [worker.functionArn] }));
    return this;
  }

  /** Sets `BATON_TIMER_QUEUE_URL` and allows sending to the timer queue (nothing else on it). */
  useTimerQueue(queue: IQueue): this {
    this.addEnvironment('BATON_TIMER_QUEUE_URL', queue.queueUrl);
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    return this;
  }
}
