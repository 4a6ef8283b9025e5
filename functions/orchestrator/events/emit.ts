import type { RunItem } from '../../store/items.js';
import { createDelivery, deliveryRef } from '../../store/outbox.js';
import { getRun } from '../../store/runs.js';
import type { Deps } from '../deps.js';
import { loadWorkflow } from '../workflows.js';
import { type BatonEvent, eventsOf } from './shapes.js';

/**
 * Where events originate: the stream record of the transition (a run's status change, a task's failure,
 * a run clock marked `sla_missed`), handled by the master before it routes the record. Each transition is
 * one conditional write, so it has one stream record; a record delivered twice (a retry, a replay after a
 * restart) yields the same event ids, which make the duplicates harmless: webhook deliveries are created
 * with a conditional put keyed by the id, and the id is the `Idempotency-Key` of every POST and the `id`
 * a bus consumer can deduplicate on.
 *
 * Each event is logged, handed to `deps.publish` (EventBridge in AWS; a failure there is logged and never
 * fails the run) and, for every `notify` entry of the run's definition that names it, recorded as a
 * pending webhook delivery, delivered by `deliver.ts` with bounded retries.
 */
export async function emitEvents(
  deps: Deps,
  next: Record<string, any>,
  prev: Record<string, any> | undefined,
  sequence: string | undefined,
): Promise<void> {
  const events = eventsOf(next, prev, sequence, deps.now());
  if (events.length === 0) return;
  for (const e of events) deps.log.info({ run: e.runId, event: e }, 'event');
  if (deps.publish) {
    await deps
      .publish(events)
      .catch((err: unknown) => deps.log.error({ run: next.runId, err, events: events.map((e) => e.id) }, 'events not published'));
  }
  const run = next.kind === 'run' ? (next as RunItem) : await getRun(deps.db, next.runId);
  if (!run) return;
  // A definition that cannot be loaded has no webhooks to call; the record itself is the master's to
  // handle (a run pinned to a missing version is parked and failed). Events never make a record poison.
  const notify = await loadWorkflow(deps.db, run.workflow, run.version).then(
    (wf) => wf.definition.notify ?? [],
    (err: unknown) => {
      deps.log.error({ run: run.runId, err, events: events.map((e) => e.id) }, 'webhooks not notified: the definition did not load');
      return [];
    },
  );
  await Promise.all(
    events.flatMap((e) => notify.flatMap((n, i) => (n.on.includes(e.name as never) ? [record(deps, e, i, n.webhook)] : []))),
  );
}

async function record(deps: Deps, e: BatonEvent, n: number, webhook: string) {
  const d = await createDelivery(deps.db, { runId: e.runId, eventId: e.id, n, webhook, body: JSON.stringify(e) }, deps.now());
  // Delivered by the timer (an in-process timer locally, an SQS message in AWS), never here: a slow or dead
  // webhook never holds up the stream. Should the timer be lost, the sweeper finds the delivery due.
  if (d) await deps.timer(deliveryRef(d), deps.now());
}
