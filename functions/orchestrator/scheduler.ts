import { RequestError } from '../common/errors.js';
import {
  type CronSpec,
  countFireTimes,
  DEFAULT_FIRE_CAP,
  DEFAULT_MISFIRE_THRESHOLD_MS,
  type DueFireTime,
  deterministicRunId,
  dueFireTimes,
  nextFireTimes,
  renderScheduleParams,
  type ScheduleWindow,
} from '../engine/schedule/index.js';
import type { Key } from '../store/db.js';
import { type DueKey, dueShards, keyOf, queryDue } from '../store/due.js';
import type { Trigger } from '../store/items.js';
import { advanceSchedule, type LastFire, type ScheduleItem } from '../store/schedules.js';
import type { Deps } from './deps.js';
import { startWorkflow } from './start.js';

/**
 * The cron scheduler. A schedule item sits in the sparse sharded `due` index at its next fire time
 * (`dueAt`). The tick (EventBridge every minute in AWS, a ~1 s timer locally):
 * - queries each shard of that index for items due within the coming minute, keeping only schedule
 *   keys (`pk` begins with `SCHED#`, a key attribute, so the filter works on the KEYS_ONLY index);
 * - fires those already due; hands the others to the durable timer (`deps.timer`: an SQS delay in AWS),
 *   which calls the sweeper's `fireDue`, which hands schedule items back here (`onDueItem`).
 *
 * Firing one schedule: read it; compute the due fire times from its mark (`lastFireTime`) with the
 * misfire policy; create one run per fire time under `deterministicRunId(schedule, fireTime)` with a
 * conditional put; THEN advance the mark (and `dueAt`) with a condition on the mark and generation it
 * read. A second tick, a concurrent one, or a re-run after a crash between the two steps computes the
 * same ids, so its puts are no-ops: one run per fire time, whoever fires it.
 */

/** Fire times closer than this are handed to the durable timer (the tick runs once a minute in AWS). */
export const TIMER_HORIZON_MS = 60_000;
/** Default most missed times `all` fires after an outage or a pause (the latest ones). */
export const DEFAULT_MISFIRE_CAP = 100;
export const MAX_MISFIRE_CAP = 1000;

export const scheduleRunKey = (workflow: string, scheduleId: string) => `${workflow}/${scheduleId}`;
export const scheduleRunId = (workflow: string, scheduleId: string, fireTime: Date) =>
  deterministicRunId(scheduleRunKey(workflow, scheduleId), fireTime);

export interface TickReport {
  /** Schedules fired (due now). */
  fired: number;
  /** Runs created. */
  created: number;
  /** Fire times whose run already existed (a repeated or concurrent tick). */
  existing: number;
  /** Fire times handed to the durable timer. */
  timers: number;
  errors: number;
}

const emptyReport = (): TickReport => ({ fired: 0, created: 0, existing: 0, timers: 0, errors: 0 });

export const windowOf = (s: Pick<ScheduleItem, 'start' | 'end'>): ScheduleWindow => ({
  ...(s.start !== undefined && { start: new Date(s.start) }),
  ...(s.end !== undefined && { end: new Date(s.end) }),
});

/** The first fire time strictly after `afterMs` inside the window, or undefined. */
export function nextFireAfter(spec: CronSpec, afterMs: number, start?: number, end?: number): number | undefined {
  const lower = start === undefined ? afterMs : Math.max(afterMs, start - 1);
  const until = end === undefined ? undefined : new Date(end);
  if (until && until.getTime() <= lower) return undefined;
  return nextFireTimes(spec, new Date(lower), 1, until ? { until } : undefined)[0]?.getTime();
}

/** One scheduler tick. Safe to run twice, concurrently, or again after a crash. */
export async function schedulerTick(deps: Deps, opts: { horizonMs?: number; parallel?: number } = {}): Promise<TickReport> {
  const report = emptyReport();
  const now = deps.now();
  const horizon = opts.horizonMs ?? TIMER_HORIZON_MS;
  const found: DueKey[] = [];
  await Promise.all(
    dueShards(deps.db).map(async (shard) => {
      let start: Record<string, unknown> | undefined;
      do {
        const r = await queryDue(deps.db, shard, { until: now + horizon, schedulesOnly: true, start });
        found.push(...r.items);
        start = r.next;
      } while (start);
    }),
  );
  const work = found.sort((a, b) => a.dueAt - b.dueAt);
  const parallel = Math.max(1, opts.parallel ?? 8);
  await Promise.all(
    Array.from({ length: Math.min(parallel, work.length) }, async () => {
      for (let item = work.shift(); item; item = work.shift()) {
        const key = keyOf(item);
        try {
          if (item.dueAt <= now) await fireSchedule(deps, key, report);
          else {
            await deps.timer(key, item.dueAt);
            report.timers++;
          }
        } catch (err) {
          report.errors++;
          deps.log.error({ key, err }, 'could not fire a schedule');
        }
      }
    }),
  );
  if (report.created + report.errors > 0) deps.log.info({ ...report }, 'scheduler tick');
  return report;
}

/**
 * For `all`, after a long outage: a mark from which at most `misfireCap` due times remain (the
 * latest ones); the older missed times are dropped. Other policies and on-time backlogs keep the mark.
 */
function cappedMark(s: ScheduleItem, now: number): { mark: number; dropped: number } {
  const keep = { mark: s.lastFireTime, dropped: 0 };
  if (s.misfirePolicy !== 'all') return keep;
  const lower = s.start === undefined ? s.lastFireTime : Math.max(s.lastFireTime, s.start - 1);
  const upper = s.end === undefined ? now : Math.min(now, s.end);
  if (upper <= lower) return keep;
  const first = nextFireTimes(s.spec, new Date(lower), 1, { until: new Date(upper) })[0];
  if (!first || first.getTime() > now - DEFAULT_MISFIRE_THRESHOLD_MS) return keep;
  const cap = s.misfireCap ?? DEFAULT_MISFIRE_CAP;
  const within = (from: number) => countFireTimes(s.spec, new Date(from), new Date(upper), cap);
  if (within(lower).exact) return keep;
  // Smallest mark with at most `cap` times after it: count(lo) > cap, count(hi) <= cap.
  let lo = lower;
  let hi = upper;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (within(mid).exact) hi = mid;
    else lo = mid;
  }
  return { mark: hi, dropped: countFireTimes(s.spec, new Date(lower), new Date(hi), 100_000).count };
}

/** Most rounds of one firing: each follows a lost race or fires the next batch of a capped backlog. */
const MAX_FIRE_ROUNDS = 20;

/** Fires one schedule if it is due: creates its runs, then advances it. Re-reads and retries on a lost race. */
export async function fireSchedule(deps: Deps, key: Key, report: TickReport = emptyReport(), seed?: ScheduleItem): Promise<void> {
  for (let round = 0; round < MAX_FIRE_ROUNDS; round++) {
    const s = round === 0 && seed ? seed : await deps.db.get<ScheduleItem>(key);
    const now = deps.now();
    if (s?.kind !== 'schedule' || !s.enabled || s.dueAt === undefined || s.dueAt > now) return;
    if (round === 0) report.fired++;
    const { mark, dropped } = cappedMark(s, now);
    const due = dueFireTimes({
      cron: s.spec,
      lastFireTime: new Date(mark),
      createdAt: new Date(s.createdAt),
      now: new Date(now),
      policy: s.misfirePolicy,
      enabled: true,
      window: windowOf(s),
      cap: DEFAULT_FIRE_CAP,
    });
    if (dropped > 0) {
      deps.log.warn(
        { schedule: s.scheduleId, workflow: s.workflow, dropped, cap: s.misfireCap },
        'missed fire times beyond the misfire cap dropped',
      );
    }
    if (due.misfire) {
      deps.log.warn(
        { schedule: s.scheduleId, workflow: s.workflow, policy: s.misfirePolicy, missed: due.dueCount, firing: due.fireTimes.length },
        'schedule misfire',
      );
    }
    let lastFire: LastFire | undefined;
    let lastError: ScheduleItem['lastError'];
    for (const ft of due.fireTimes) {
      try {
        lastFire = await fireOne(deps, s, ft);
        if (lastFire.created) report.created++;
        else report.existing++;
      } catch (err) {
        // A run that cannot be made for this fire time never will be (bad params, missing version):
        // record it on the schedule and go on, rather than block every later fire time.
        if (!(err instanceof RequestError)) throw err;
        report.errors++;
        lastError = { at: now, fireTime: ft.time.getTime(), message: err.message };
        deps.log.error(
          { schedule: s.scheduleId, workflow: s.workflow, fireTime: ft.time.toISOString(), err: err.message },
          'schedule could not start a run',
        );
      }
    }
    const nextLast = due.nextLast.getTime();
    const next = nextFireAfter(s.spec, nextLast, s.start, s.end);
    const advanced = await advanceSchedule(deps.db, s, nextLast, next, { lastFire, lastError });
    if (!advanced) continue; // another tick advanced it, or the API changed it: look again
    if (next !== undefined && next - now <= TIMER_HORIZON_MS) {
      await deps.timer(key, next);
      report.timers++;
    }
    if (!due.truncated) return;
  }
  deps.log.warn({ key, rounds: MAX_FIRE_ROUNDS }, 'schedule firing reached its round limit; the next tick goes on');
}

async function fireOne(deps: Deps, s: ScheduleItem, ft: DueFireTime): Promise<LastFire> {
  const runId = scheduleRunId(s.workflow, s.scheduleId, ft.time);
  const trigger: Trigger = {
    type: 'schedule',
    scheduleId: s.scheduleId,
    fireTime: ft.time.toISOString(),
    ...(ft.misfired && { misfired: true }),
    ...(ft.misfiredCount !== undefined && { misfiredCount: ft.misfiredCount }),
  };
  const started = await startWorkflow(deps, {
    workflow: s.workflow,
    version: s.version,
    params: renderScheduleParams(s.params, ft.time, s.timezone, s.scheduleId),
    trigger,
    runId,
  });
  if (started.created) {
    deps.log.info({ run: runId, schedule: s.scheduleId, workflow: s.workflow, fireTime: trigger.fireTime }, 'schedule fired');
  }
  return {
    runId,
    fireTime: ft.time.getTime(),
    created: started.created,
    ...(ft.misfired && { misfired: true }),
    ...(ft.misfiredCount !== undefined && { misfiredCount: ft.misfiredCount }),
  };
}
