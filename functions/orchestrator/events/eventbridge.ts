import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { BatonEvent } from './shapes.js';

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

/**
 * Publishes events to an EventBridge bus (`Deps.publish` in AWS, when `BATON_EVENT_BUS` names one).
 * `detail` carries `eventId` (the event's id, the same for every delivery of one transition, so consumers
 * can deduplicate) and `name`. Entries the bus refuses are reported by throwing; the caller logs it and
 * the run carries on.
 */
export function eventBridgePublisher(client: EventBridgeClient, bus: string) {
  return async (events: readonly BatonEvent[]): Promise<void> => {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      const chunk = events.slice(i, i + MAX_ENTRIES);
      const r = await client.send(
        new PutEventsCommand({
          Entries: chunk.map((e) => ({
            EventBusName: bus,
            Source: e.source,
            DetailType: e['detail-type'],
            Time: new Date(e.time),
            Detail: JSON.stringify({ ...e.detail, eventId: e.id, name: e.name }),
          })),
        }),
      );
      if ((r.FailedEntryCount ?? 0) > 0) {
        const why = (r.Entries ?? []).filter((x) => x.ErrorCode).map((x) => `${x.ErrorCode}: ${x.ErrorMessage}`);
        throw new Error(`EventBridge refused ${r.FailedEntryCount} of ${chunk.length} events: ${why.join('; ')}`);
      }
    }
  };
}
