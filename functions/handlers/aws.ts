import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { emfCounters } from '../common/metrics.js';
import { type Deps, defaultDeps, type Job } from '../orchestrator/deps.js';
import { eventBridgePublisher } from '../orchestrator/events/eventbridge.js';
import type { Key } from '../store/db.js';

/**
 * AWS wiring shared by the handlers, created once per cold start: workers are reached by
 * asynchronous Lambda invocation, fine-grained timers by SQS messages with a delivery delay.
 */
const lambda = new LambdaClient({});
const sqs = new SQSClient({});

/** SQS delays a message by at most 15 minutes; later wake-ups are left to the sweeper's tick. */
export const MAX_SQS_DELAY_S = 900;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required`);
  return v;
}

/**
 * The worker function to invoke: `BATON_WORKER_FUNCTION`, or, in the worker itself (which dispatches the
 * successors it does not run inline; `BATON_DISPATCH_TO_SELF`), its own name.
 */
function workerFunction(): string {
  if (!process.env.BATON_WORKER_FUNCTION && process.env.BATON_DISPATCH_TO_SELF === '1' && process.env.AWS_LAMBDA_FUNCTION_NAME) {
    return process.env.AWS_LAMBDA_FUNCTION_NAME;
  }
  return required('BATON_WORKER_FUNCTION');
}

export async function dispatchByLambda(job: Job): Promise<void> {
  await lambda.send(
    new InvokeCommand({
      FunctionName: workerFunction(),
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(job)),
    }),
  );
}

export async function timerBySqs(key: Key, at: number): Promise<void> {
  const url = process.env.BATON_TIMER_QUEUE_URL;
  if (!url) return;
  const delay = Math.ceil((at - Date.now()) / 1000);
  if (delay > MAX_SQS_DELAY_S) return;
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(key), DelaySeconds: Math.max(0, delay) }));
}

let cached: Deps | undefined;

/** The dependencies of every Lambda handler, built on first use. */
export function awsDeps(): Deps {
  // Run and task events go to the EventBridge bus the construct names (docs/events.md).
  const bus = process.env.BATON_EVENT_BUS;
  cached ??= defaultDeps({
    dispatch: dispatchByLambda,
    timer: timerBySqs,
    metrics: emfCounters(),
    ...(bus ? { publish: eventBridgePublisher(new EventBridgeClient({}), bus) } : {}),
  });
  return cached;
}
