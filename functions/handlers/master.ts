import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { type ChangeRecord, onChange } from '../orchestrator/stream.js';
import { awsDeps } from './aws.js';

/**
 * DynamoDB Streams → the master. Records are independent idempotent transitions, so they are handled
 * concurrently; a failure is reported per record, and the event source retries from the first one.
 */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const deps = awsDeps();
  const results = await Promise.allSettled(event.Records.map((r) => onChange(deps, r as ChangeRecord)));
  const failures = event.Records.flatMap((r, i) => {
    const res = results[i];
    if (res?.status !== 'rejected') return [];
    deps.log.error({ err: res.reason, seq: r.dynamodb?.SequenceNumber }, 'stream record failed');
    return [{ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }];
  });
  // The event source retries from the earliest failed sequence number, so report only that one.
  failures.sort((a, b) => (BigInt(a.itemIdentifier || 0) < BigInt(b.itemIdentifier || 0) ? -1 : 1));
  return { batchItemFailures: failures.slice(0, 1) };
}
