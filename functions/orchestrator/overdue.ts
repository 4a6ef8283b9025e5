import { keys, type TaskItem } from '../store/items.js';
import { getTask, indexOverdue, unindexedInFlight } from '../store/tasks.js';
import type { Deps } from './deps.js';

/**
 * Tasks out of the due index, and how they are found when they need to be.
 *
 * The worker's inline advance queues the direct successors of the ending it just recorded without a
 * due entry (`QueueInfo.unindexed`): an entry and its removal are 2 of a short task's 4 write units,
 * and a short task is claimed and ended long before its entry could fall due. What the entry was for
 * is kept by two safety nets that do not cost a write per task:
 *
 * 1. The ending's stream record. The master re-processing it (`master.ts untoldSuccessors`) reads the
 *    successors anyway; for each one still in flight (queued or running) without an entry, it asks
 *    for a timer one lease later (`Deps.timer`: SQS in AWS, an in-process timer locally; no write).
 *    When it fires, the sweeper's `fireDue` gives the attempt, if still in flight and unindexed, its
 *    entry at its natural due time (`queuedAt` or `claimedAt` + lease): a lost dispatch is then
 *    dispatched again and a dead holder's attempt reclaimed, by the same guarded writes as for any
 *    indexed task. A short task has ended by the time its predecessor's record is re-processed, so
 *    it costs no timer at all.
 * 2. The run watchdog (`reconcile.ts`) does the same for every task of the run: the guarantee when a
 *    timer or a record is lost for good (recovery then takes up to `BATON_WATCHDOG_MS`).
 *
 * A holder that lives past its first heartbeat indexes its attempt itself (`Lease`), as before.
 */

/**
 * Gives each in-flight unindexed task of `tasks` its due entry at its natural due time, and asks for a
 * timer for the ones already due. A write lost to a change of state re-reads the task and tries again
 * (a claim or a heartbeat may have come first). Returns how many could not be settled.
 */
export async function indexInFlight(deps: Deps, tasks: Iterable<TaskItem>): Promise<number> {
  const lease = deps.db.config.leaseMs;
  let left = 0;
  for (const first of tasks) {
    let t: TaskItem | undefined = first;
    for (let tries = 0; t && unindexedInFlight(t) && tries < 3; tries++) {
      const at = ((t.status === 'running' ? t.claimedAt : t.queuedAt) ?? deps.now()) + lease;
      const indexed = await indexOverdue(deps.db, t, at);
      if (indexed) {
        deps.log.warn(
          { run: t.runId, task: t.name, attempt: t.attempt, status: t.status, dueAt: at },
          'unindexed attempt still in flight: indexed',
        );
        if (at <= deps.now()) await deps.timer(keys.task(t.runId, t.name), at);
        t = undefined;
      } else t = await getTask(deps.db, first.runId, first.name);
    }
    if (t && unindexedInFlight(t)) left++;
  }
  return left;
}
