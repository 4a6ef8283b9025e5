import type { Db } from './db.js';
import { keys } from './items.js';
import { DUE_ATTRIBUTES } from './table.js';

/**
 * Webhook deliveries: one item per (event, webhook), in the run's partition, created with a conditional
 * put keyed by the event id (a repeated stream record finds it and adds nothing), then moved by
 * conditional writes guarded by the attempt count read: `pending → delivered | failed`.
 * A pending delivery sits in the due index at its next try, so retries survive a restart.
 */
export interface DeliveryItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'delivery';
  readonly runId: string;
  readonly eventId: string;
  readonly webhook: string;
  readonly body: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly tries: number;
  readonly lastError?: string;
  readonly dueAt?: number;
}

const deliveryKey = (runId: string, eventId: string, n: number) => ({ pk: keys.run(runId).pk, sk: `DELIVERY#${eventId}#${n}` });

/** The delivery's key, for its timer. */
export function deliveryRef(d: DeliveryItem): { pk: string; sk: string } {
  return { pk: d.pk, sk: d.sk };
}

/** One string per delivery, to tell deliveries apart in memory. */
export function deliveryId(d: DeliveryItem): string {
  return `${d.pk}/${d.sk}`;
}

/** Creates a pending delivery due now; false if this (event, webhook) was already recorded. */
export async function createDelivery(db: Db, d: { runId: string; eventId: string; n: number; webhook: string; body: string }, now: number) {
  const key = deliveryKey(d.runId, d.eventId, d.n);
  const item = {
    ...key,
    kind: 'delivery',
    runId: d.runId,
    eventId: d.eventId,
    webhook: d.webhook,
    body: d.body,
    status: 'pending',
    tries: 0,
  };
  return (await db.create({ ...item, ...db.due(key, now), ...db.expiry(now) })) ? (item as unknown as DeliveryItem) : undefined;
}

/** One try ended: delivered, failed for good, or pending again until `retryAt`. Guarded by the tries read. */
export function recordTry(db: Db, d: DeliveryItem, result: { ok: true } | { ok: false; error: string; retryAt?: number }, now: number) {
  const key = { pk: d.pk, sk: d.sk };
  const status = result.ok ? 'delivered' : result.retryAt !== undefined ? 'pending' : 'failed';
  const due = !result.ok && result.retryAt !== undefined ? db.due(key, result.retryAt) : undefined;
  return db.update<DeliveryItem>(
    key,
    {
      set: { status, tries: d.tries + 1, ...(result.ok ? {} : { lastError: result.error.slice(0, 1000) }), ...due, ...db.expiry(now) },
      ...(due ? {} : { remove: DUE_ATTRIBUTES }),
    },
    { expr: '#s = :p AND #t = :t', names: { '#s': 'status', '#t': 'tries' }, values: { ':p': 'pending', ':t': d.tries } },
  );
}
