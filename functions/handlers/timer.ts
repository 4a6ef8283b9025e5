import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { fireDue } from '../orchestrator/sweeper.js';
import { awsDeps } from './aws.js';

/** SQS delayed messages → wake the due item each names. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const deps = awsDeps();
  const results = await Promise.allSettled(event.Records.map((r) => fireDue(deps, JSON.parse(r.body))));
  return {
    batchItemFailures: event.Records.filter((_, i) => results[i]?.status === 'rejected').map((r) => ({ itemIdentifier: r.messageId })),
  };
}
