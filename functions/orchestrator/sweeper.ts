import { METRICS } from '../common/metrics.js';
import type { Key } from '../store/db.js';
import { dueShards, keyOf, queryDue } from '../store/due.js';
import { and, whereEquals } from '../store/expr.js';
import { keys, type RunItem, type TaskItem } from '../store/items.js';
import type { DeliveryItem } from '../store/outbox.js';
import type { PoolItem } from '../store/pools.js';
import type { RunClockItem } from '../store/run-clock.js';
import { getRun } from '../store/runs.js';
import { finishAttempt, holds, reclaimLost, redispatch, unindexedInFlight, wake } from '../store/tasks.js';
import { decide } from './attempt-ending.js';
import { stopAgainDue, workMustStop } from './cancel.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';
import { onDueItem } from './due-items.js';
import { deliverNow } from './events/deliver.js';
import { specOf } from './map.js';
import { indexInFlight } from './overdue.js';
import { checkPool, releaseEnded } from './pools.js';
import { beforeWatchdog, checkStart, reconcile } from './reconcile.js';
import { startRun } from './run-start.js';
import { onRunClock } from './run-timeout.js';
import { loadWorkflow } from './workflows.js';

export interface SweepReport {
  examined: number;
  redispatched: number;
  reclaimed: number;
  timedOut: number;
  woken: number;
  redriven: number;
}

/** Most due items one sweep examines; the rest waits for the next sweep (a minute later in AWS). */
export const SWEEP_ITEM_LIMIT = 1000;
/** Keys read per page of one shard of the due index. */
const SWEEP_PAGE_SIZE = 100;

const empty = (): SweepReport => ({ examined: 0, redispatched: 0, reclaimed: 0, timedOut: 0, woken: 0, redriven: 0 });

/**
 * The failover sweeper and durable timer in one: finds every item whose due time has passed, through
 * the sparse sharded due index (never a table scan), and acts on it. Every action is conditional on
 * what was read, so concurrent sweepers, or a sweeper racing a holder's last heartbeat, act once.
 */
export async function sweep(deps: Deps, limit = SWEEP_ITEM_LIMIT): Promise<SweepReport> {
  const report = empty();
  const now = deps.now();
  await Promise.all(
    dueShards(deps.db).map(async (shard) => {
      let start: Record<string, unknown> | undefined;
      do {
        const r = await queryDue(deps.db, shard, { until: now, limit: SWEEP_PAGE_SIZE, start });
        for (const item of r.items) {
          if (report.examined++ >= limit) {
            deps.log.warn({ shard, limit }, 'sweep reached its item limit; the rest waits for the next sweep');
            return;
          }
          const key = keyOf(item);
          try {
            await fireDue(deps, key, report);
          } catch (err) {
            deps.log.error({ key, err }, 'sweeper could not handle a due item');
          }
        }
        start = r.next;
      } while (start);
    }),
  );
  const acted = report.redispatched + report.reclaimed + report.timedOut + report.woken + report.redriven;
  if (acted > 0) deps.log.info({ ...report }, 'sweep');
  deps.metrics?.count(METRICS.leasesReclaimed, report.reclaimed);
  return report;
}

/** Handles one item whose due time may have passed (called by the sweep and by fine-grained timers). */
export async function fireDue(deps: Deps, key: Key, report: SweepReport = empty()): Promise<void> {
  const item = await deps.db.get<(TaskItem | RunItem) & { kind: string }>(key);
  const now = deps.now();
  if (!item) return;
  // A timer for an attempt left out of the due index (overdue.ts): give it its entry, due or not.
  if (item.dueAt === undefined && item.kind === 'task' && unindexedInFlight(item as TaskItem))
    await indexInFlight(deps, [item as TaskItem]);
  if (item.dueAt === undefined || item.dueAt > now) return;
  if (await onDueItem(deps, item)) return; // schedules, backfills, pending runs (orchestrator/due-items.ts)
  if ((item as { kind: string }).kind === 'pool') return checkPool(deps, item as unknown as PoolItem); // orchestrator/pools.ts
  if ((item.kind as string) === 'clock') return onRunClock(deps, item as unknown as RunClockItem); // run timeout and sla
  if ((item.kind as string) === 'delivery') return deliverNow(deps, item as unknown as DeliveryItem); // webhook retries
  if (item.kind === 'run') {
    const run = item as RunItem;
    report.redriven++;
    if (run.status === 'queued') return startRun(deps, run.runId, 'sweeper');
    if (run.stopAgain && workMustStop(run)) return stopAgainDue(deps, run); // a cancelled or timed-out run's second stop (cancel.ts)
    if (run.status !== 'running' && run.status !== 'paused') return;
    // Within its first watchdog period, the due time its creation set: its roots' check (run-start.ts).
    if (beforeWatchdog(deps, run, now)) await checkStart(deps, run);
    else await reconcile(deps, run.runId);
    return;
  }
  if (item.kind !== 'task') return;
  const t = item as TaskItem;
  switch (t.status) {
    case 'queued': {
      const q = await redispatch(deps.db, t, now);
      if (q) {
        report.redispatched++;
        deps.log.warn({ run: t.runId, task: t.name, attempt: t.attempt }, 'attempt not claimed in time; dispatching again');
        await dispatchAttempt(deps, q);
      }
      return;
    }
    case 'running': {
      if (t.deadline !== undefined && t.deadline <= now) {
        // The holder is gone and the attempt is past its deadline: that is a timeout, not a loss.
        const run = await getRun(deps.db, t.runId);
        const spec = run && specOf((await loadWorkflow(deps.db, run.workflow, run.version)).definition, t.name);
        if (!spec) return;
        const ending = decide(deps, spec, t, {
          status: 'failed',
          reason: 'timeout',
          message: 'attempt exceeded its timeout and its worker stopped responding',
        });
        const guard = and(holds(t), whereEquals({ dueAt: t.dueAt }));
        const done = await finishAttempt(deps.db, t, ending, now, guard);
        if (done) {
          report.timedOut++;
          deps.log.warn({ run: t.runId, task: t.name, attempt: t.attempt, from: 'running', to: done.status }, 'task transition');
          await releaseEnded(deps, t); // its pool slots, if any
          if (ending.kind === 'retry') await deps.timer(keys.task(t.runId, t.name), ending.at);
        }
        return;
      }
      const r = await reclaimLost(deps.db, t, now);
      if (r) {
        report.reclaimed++;
        deps.log.warn(
          { run: t.runId, task: t.name, attempt: t.attempt, owner: t.owner, from: 'running', to: r.status },
          'lease expired; attempt lost',
        );
        if (r.status === 'queued') await dispatchAttempt(deps, r);
        else await releaseEnded(deps, t); // lost too often: its pool slots, if any (a queued attempt keeps them)
      }
      return;
    }
    case 'waiting': {
      const w = await wake(deps.db, t, now);
      if (w) {
        report.woken++;
        deps.log.info({ run: t.runId, task: t.name, attempt: w.attempt, from: 'waiting', to: 'queued', wake: t.wake }, 'task transition');
        await dispatchAttempt(deps, w);
      }
      return;
    }
  }
}
