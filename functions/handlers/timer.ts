import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRICS } from '../common/metrics.js';
import { fireDue } from '../orchestrator/sweeper.js';
import { type Key, keySchema } from '../store/db.js';
import { awsDeps } from './aws.js';

const processor = new BatchProcessor(EventType.SQS);

/**
 * SQS delayed messages → wake the due item each names, one message at a time with a partial batch
 * response: a failing wake-up is retried alone (then dead-lettered). A message that is not a timer
 * key never will be: it is parked (logged, and counted as RecordsParked, which raises the parked-record alarm) and dropped.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const deps = awsDeps();
  const one = async (r: SQSRecord) => {
    // What `timerBySqs` sends: the key of the item to wake.
    let key: Key;
    try {
      key = keySchema.parse(JSON.parse(r.body));
    } catch (err) {
      deps.log.error({ err, messageId: r.messageId, body: r.body.slice(0, 500), cause: 'malformed', parked: true }, 'timer message parked');
      deps.metrics?.count(METRICS.recordsParked, 1);
      return;
    }
    try {
      await fireDue(deps, key);
    } catch (err) {
      deps.log.error({ err, messageId: r.messageId, key }, 'timer message failed');
      throw err;
    }
  };
  return processPartialResponse(event, one, processor, { context, throwOnFullBatchFailure: false });
}
