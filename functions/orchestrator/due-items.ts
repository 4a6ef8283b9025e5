import type { BackfillItem } from '../store/backfills.js';
import type { Key } from '../store/db.js';
import { keyOf } from '../store/due.js';
import type { RunItem } from '../store/items.js';
import type { ScheduleItem } from '../store/schedules.js';
import { reconcileBackfill } from './backfill.js';
import { recheckPending } from './concurrency.js';
import type { Deps } from './deps.js';
import { fireSchedule } from './scheduler.js';

/**
 * The sweeper's `fireDue` (and so the durable timer) hands items it does not know here: schedules,
 * backfills and pending runs. Returns false for anything else.
 */
export async function onDueItem(deps: Deps, item: Key & { kind?: unknown }): Promise<boolean> {
  switch (item.kind) {
    case 'schedule':
      await fireSchedule(deps, keyOf(item), undefined, item as unknown as ScheduleItem);
      return true;
    case 'backfill':
      await reconcileBackfill(deps, item as unknown as BackfillItem);
      return true;
    case 'run':
      if ((item as unknown as RunItem).status !== 'pending') return false;
      await recheckPending(deps, item as unknown as RunItem);
      return true;
    default:
      return false;
  }
}
