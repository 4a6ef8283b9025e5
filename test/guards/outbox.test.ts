import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { createDelivery, type DeliveryItem, recordTry } from '../../functions/store/outbox.js';
import { Clock, guardDeps, lockstep } from './support.js';

/**
 * Webhook deliveries: one delivery per (event, webhook) however often the stream record comes, one
 * recorded try per try, and a delivery that ended never goes back to pending (it would be POSTed again).
 */

const clock = new Clock();
let deps: Deps;
let n = 0;

beforeAll(async () => {
  deps = await guardDeps(clock);
});

const delivery = () => ({ runId: 'r', eventId: `e${++n}`, n: 0, webhook: 'http://127.0.0.1:9/hook', body: '{}' });
const read = async (d: DeliveryItem) => (await deps.db.get<DeliveryItem>({ pk: d.pk, sk: d.sk })) as DeliveryItem;

describe('webhook deliveries', () => {
  it('eight emitters of one event for one webhook (redelivered stream records) at once: one delivery', async () => {
    const d = delivery();
    const got = await Promise.all(lockstep(deps, 8).map((x) => createDelivery(x.db, d, clock.t)));
    expect(got.filter(Boolean)).toHaveLength(1);
  });

  it('two deliverers recording a try from the same view: one records it, tries counted once', async () => {
    const d = (await createDelivery(deps.db, delivery(), clock.t)) as DeliveryItem;
    const got = await Promise.all(
      lockstep(deps, 2).map((x, i) =>
        recordTry(x.db, d, i === 0 ? { ok: true } : { ok: false, error: 'HTTP 500', retryAt: clock.t + 1000 }, clock.t),
      ),
    );
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await read(d)).tries).toBe(1);
  });

  it('a delivery that ended is not moved back to pending, even from a view read after it ended', async () => {
    const d = (await createDelivery(deps.db, delivery(), clock.t)) as DeliveryItem;
    const delivered = (await recordTry(deps.db, d, { ok: true }, clock.t)) as DeliveryItem;
    expect(delivered).toMatchObject({ status: 'delivered', tries: 1 });
    expect(await recordTry(deps.db, delivered, { ok: false, error: 'HTTP 500', retryAt: clock.t + 1000 }, clock.t)).toBeUndefined();
    expect(await read(d)).toMatchObject({ status: 'delivered', tries: 1 });
    expect((await read(d)).dueAt).toBeUndefined();
  });
});
