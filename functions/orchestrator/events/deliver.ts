import { intSetting } from '../../common/config.js';
import { type DeliveryItem, deliveryId, deliveryRef, recordTry } from '../../store/outbox.js';
import { defaultEgress, egressDenial, policyFetch } from '../../tasks/egress/dispatcher.js';
import type { Deps } from '../deps.js';

/** Tries per webhook delivery before it is given up (`BATON_WEBHOOK_ATTEMPTS`, default 5). */
const maxTries = () => intSetting(process.env, 'BATON_WEBHOOK_ATTEMPTS', 5, 1);
/** Pause before the first retry, doubling per retry (`BATON_WEBHOOK_RETRY_MS`, default 1000). */
const retryBase = () => intSetting(process.env, 'BATON_WEBHOOK_RETRY_MS', 1000, 10);
/** How long one POST may take. */
const TRY_TIMEOUT_MS = 10_000;

const inFlight = new Set<string>();

/**
 * One try of a pending webhook delivery: POST the event with `Idempotency-Key: <event id>` through the
 * egress policy (the same rules as an `http` task). A 2xx delivers it; anything else is retried with
 * backoff up to `BATON_WEBHOOK_ATTEMPTS` tries, then given up with a log line. Nothing here touches the
 * run: a dead webhook costs its own item a few writes and never blocks or fails the run. At-least-once:
 * a process that dies after the POST and before recording it leaves the delivery due, and it is sent again.
 */
export async function deliverNow(deps: Deps, d: DeliveryItem): Promise<void> {
  const ref = deliveryRef(d);
  const id = deliveryId(d);
  if (d.status !== 'pending' || inFlight.has(id)) return;
  inFlight.add(id);
  try {
    let error: string | undefined;
    try {
      const res = await policyFetch(defaultEgress().policy, d.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': d.eventId, 'user-agent': 'baton-webhook' },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TRY_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => {});
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      const denied = egressDenial(err);
      error = denied
        ? `egress_denied: ${denied.message}`
        : err instanceof Error
          ? `${err.message}${err.cause ? `: ${String((err.cause as Error).message ?? err.cause)}` : ''}`
          : String(err);
    }
    const now = deps.now();
    const tries = d.tries + 1;
    const retryAt = error && tries < maxTries() && !error.startsWith('egress_denied') ? now + retryBase() * 2 ** (tries - 1) : undefined;
    const done = await recordTry(deps.db, d, error ? { ok: false, error, retryAt } : { ok: true }, now);
    const where = { run: d.runId, event: d.eventId, webhook: d.webhook, tries };
    if (!error) deps.log.info(where, 'webhook delivered');
    else if (retryAt !== undefined) deps.log.warn({ ...where, error }, 'webhook delivery failed; will retry');
    else deps.log.error({ ...where, err: new Error(error) }, 'webhook delivery given up');
    if (done && retryAt !== undefined) await deps.timer(ref, retryAt);
  } catch (err) {
    deps.log.error({ run: d.runId, event: d.eventId, err }, 'webhook delivery could not be recorded');
  } finally {
    inFlight.delete(id);
  }
}
