import { randomUUID } from 'node:crypto';
import type { Json } from './policy.js';

/** Lambda events as AWS services deliver them, for driving bundles locally. */

/**
 * An API Gateway HTTP API (payload 2.0) event, as the `$default` stage sends it after IAM auth, or,
 * with `authorized: false`, for a route without an authorizer (no `authorizer` in the context).
 */
export function httpEvent(routeKey: string, method: string, path: string, body?: unknown, authorized = true): Json {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'vitest' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      ...(authorized && {
        authorizer: {
          iam: {
            accessKey: 'AKIA0000',
            accountId: '123456789012',
            callerId: 'AIDA0000',
            userArn: 'arn:aws:iam::123456789012:user/tester',
            userId: 'AIDA0000',
          },
        },
      }),
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    pathParameters: pathParameters(routeKey, path),
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** What an EventBridge schedule rule delivers. */
export const scheduledEvent = (ruleArn: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [ruleArn],
  detail: {},
});

/** An SQS event source batch. */
export const sqsEvent = (queueArn: string, bodies: string[]) => ({
  Records: bodies.map((body) => ({
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
    messageAttributes: {},
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  })),
});

/** A DynamoDB Streams record as the SDK reads it, in the shape the Lambda event source delivers it. */
export const streamEvent = (r: Json, streamArn: string) => ({
  ...r,
  eventSourceARN: streamArn,
  dynamodb: { ...r.dynamodb, ApproximateCreationDateTime: Math.floor(Number(r.dynamodb?.ApproximateCreationDateTime ?? 0) / 1000) },
});

/** The path parameters API Gateway extracts for `routeKey` (`ANY /{proxy+}`, `POST /callbacks/{token}`). */
function pathParameters(routeKey: string, path: string): Record<string, string> {
  const template = routeKey.split(' ')[1] ?? '';
  const names: string[] = [];
  const re = new RegExp(
    `^${template.replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
      names.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    })}$`,
  );
  const m = re.exec(path);
  if (!m) throw new Error(`${path} does not match the route ${routeKey}`);
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
}

/** What EventBridge delivers for a Step Functions execution that changed status. */
export const sfnStatusEvent = (detail: {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  output?: string;
}) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [detail.executionArn],
  detail: { startDate: Date.now() - 1000, stopDate: Date.now(), input: '{}', inputDetails: { included: true }, ...detail },
});
