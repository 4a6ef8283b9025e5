import { randomUUID } from 'node:crypto';
import type { Json } from './policy.js';

/** Lambda events as AWS services deliver them, for driving bundles locally. */

/** An API Gateway HTTP API (payload 2.0) event, as the `$default` stage sends it after IAM auth. */
export function httpEvent(routeKey: string, method: string, path: string, body?: unknown): Json {
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
      authorizer: {
        iam: {
          accessKey: 'AKIA0000',
          accountId: '123456789012',
          callerId: 'AIDA0000',
          userArn: 'arn:aws:iam::123456789012:user/tester',
          userId: 'AIDA0000',
        },
      },
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    pathParameters: { proxy: path.slice(1) },
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
