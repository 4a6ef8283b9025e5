import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { handleRecord, maxRecordAttempts, type StreamRecord } from '../orchestrator/poison.js';
import { noteBatch } from '../orchestrator/stream.js';
import { awsDeps } from './aws.js';

const processor = new BatchProcessor(EventType.DynamoDBStreams);
const maxAttempts = maxRecordAttempts();

/**
 * DynamoDB Streams → the master, one record at a time with a partial batch response: a failing record
 * is reported alone and retried by the event source; after `BATON_STREAM_MAX_ATTEMPTS` failures it is
 * parked and its run failed (`handleRecord`), so one poison record never holds up its shard.
 */
export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  const deps = awsDeps();
  // The batch's images first: a record learns from the ones after it what was already done (stream-images.ts).
  noteBatch(deps, event.Records as StreamRecord[]);
  const one = async (r: DynamoDBRecord) => {
    try {
      await handleRecord(deps, r as StreamRecord, maxAttempts);
    } catch (err) {
      deps.log.error({ err, sequence: r.dynamodb?.SequenceNumber, event: r.eventName }, 'stream record failed');
      throw err;
    }
  };
  return processPartialResponse(event, one, processor, { context, throwOnFullBatchFailure: false });
}
