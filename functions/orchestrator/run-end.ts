import { type RunItem, TERMINAL_RUN } from '../store/items.js';
import { backfillRunEnded } from './backfill.js';
import { releaseRun } from './concurrency.js';
import { wakeDependents } from './dependents.js';
import type { Deps } from './deps.js';

/**
 * A run reached a terminal state (from the master's `onRunFinished`): free its slot, count it in its
 * backfill, wake the `dependent` tasks it satisfies.
 */
export async function onRunEnded(deps: Deps, run: RunItem): Promise<void> {
  if (!TERMINAL_RUN.has(run.status)) return;
  await releaseRun(deps, run);
  await wakeDependents(deps, run);
  const t = run.trigger;
  if (t?.type === 'backfill' && typeof t.backfillId === 'string') await backfillRunEnded(deps, t.backfillId, run);
}
