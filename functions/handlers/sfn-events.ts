import type { EventBridgeEvent } from 'aws-lambda';
import type { Deps } from '../orchestrator/deps.js';
import { onExecutionStatusChange, type SfnStatusDetail, type StatusChangeResult } from '../orchestrator/sfn-events.js';
import { awsDeps } from './aws.js';

export type SfnStatusEvent = EventBridgeEvent<'Step Functions Execution Status Change', SfnStatusDetail>;

/**
 * EventBridge "Step Functions Execution Status Change" → wake the `stepfunctions` attempt that waits
 * on the execution (orchestrator/callback.ts). Events for executions Baton did not start, duplicates
 * and late non-terminal events are ignored. Throws only when the table cannot be reached, so that
 * EventBridge's asynchronous invocation retries the event.
 */
export function sfnEventsHandler(deps: () => Deps) {
  return async (event: SfnStatusEvent): Promise<StatusChangeResult | 'ignored_event'> => {
    if (event?.source !== 'aws.states' || event['detail-type'] !== 'Step Functions Execution Status Change' || !event.detail) {
      return 'ignored_event';
    }
    const d = deps();
    const result = await onExecutionStatusChange(d, event.detail);
    d.log.debug({ execution: event.detail.executionArn, status: event.detail.status, result }, 'step functions status change');
    return result;
  };
}

export const handler = sfnEventsHandler(awsDeps);
