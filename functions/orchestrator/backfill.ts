import { crashEnabled, crashPoint } from '../common/crash.js';
import { notFound, RequestError } from '../common/errors.js';
import { derivedRunId, newRunId } from '../common/ids.js';
import { iso } from '../common/iso.js';
import { type CronSpec, deterministicRunId, fireTimesBetween, renderScheduleParams } from '../engine/schedule/index.js';
import {
  type BackfillItem,
  type BackfillOutcome,
  cancel,
  complete,
  createBackfill,
  getBackfill,
  OUTCOMES,
  recordOutcome,
  reserve,
  setBackfillDue,
} from '../store/backfills.js';
import { type RunItem, TERMINAL_RUN } from '../store/items.js';
import { getRun } from '../store/runs.js';
import type { Deps } from './deps.js';
import { startWorkflow } from './start.js';

/**
 * Backfills: one run per fire time of a schedule (or a cron) over a past range, `serial` (each waits
 * for the previous to end) or `parallel` (up to N in flight). Driven by run-end events
 * (`run-end.ts` → `backfillRunEnded`) and, as a backstop, by the sweeper (the item is in the due
 * index while it has work: `reconcileBackfill`). Exactly once per fire time: reserve (cursor +
 * `inflight`, one conditional write), then create the run under a deterministic id (conditional put).
 */

/** Most fire times one backfill may hold (they are stored on the backfill item). */
export const MAX_BACKFILL_TIMES = 1000;
export const MAX_PARALLELISM = 100;

export interface BackfillRequest {
  readonly workflow: string;
  readonly scheduleId?: string;
  readonly spec: CronSpec;
  readonly start: number;
  readonly end: number;
  readonly mode: 'serial' | 'parallel';
  readonly parallelism: number;
  readonly rerun: boolean;
  readonly params: Record<string, unknown>;
  readonly version?: number;
  readonly idempotencyKey?: string;
  /** What identifies a repeated request (the body as sent). */
  readonly requestDigest: string;
  /** Run ids of `rerun: false` backfills derive from this (a schedule's own key: its runs count as already ran). */
  readonly sourceKey: string;
}

export const backfillRunId = (b: Pick<BackfillItem, 'runKey'>, time: number) => deterministicRunId(b.runKey, new Date(time));

/** Creates a backfill (or finds the one an earlier request with the same Idempotency-Key made) and starts it. */
export async function startBackfill(deps: Deps, req: BackfillRequest): Promise<{ backfill: BackfillItem; created: boolean }> {
  const now = deps.now();
  const { times, truncated } = fireTimesBetween(req.spec, new Date(req.start - 1), new Date(req.end), MAX_BACKFILL_TIMES);
  if (truncated) {
    throw new RequestError(400, 'invalid_backfill', `the range holds more than ${MAX_BACKFILL_TIMES} fire times; split it`, [
      { path: 'end', message: `more than ${MAX_BACKFILL_TIMES} fire times` },
    ]);
  }
  if (times.length === 0) {
    throw new RequestError(400, 'invalid_backfill', 'the range holds no fire time', [
      { path: 'start', message: 'no fire time in [start, end]' },
    ]);
  }
  const backfillId = req.idempotencyKey ? derivedRunId('b', req.workflow, req.idempotencyKey) : `b${newRunId(now)}`;
  const item = {
    backfillId,
    workflow: req.workflow,
    ...(req.scheduleId !== undefined && { scheduleId: req.scheduleId }),
    cron: req.spec.expression,
    timezone: req.spec.timezone,
    spec: req.spec,
    rangeStart: req.start,
    rangeEnd: req.end,
    times: times.map((t) => t.getTime()),
    mode: req.mode,
    parallelism: req.mode === 'serial' ? 1 : req.parallelism,
    rerun: req.rerun,
    runKey: req.rerun ? `backfill:${backfillId}` : req.sourceKey,
    params: req.params,
    ...(req.version !== undefined && { version: req.version }),
    ...(req.idempotencyKey !== undefined && { idempotencyKey: req.idempotencyKey }),
    requestDigest: req.requestDigest,
    createdAt: now,
  };
  const created = await createBackfill(deps.db, item);
  if (!created) {
    const existing = await getBackfill(deps.db, backfillId);
    if (!existing) throw new Error(`backfill ${backfillId} exists but could not be read`);
    if (existing.requestDigest !== req.requestDigest) {
      throw new RequestError(
        409,
        'idempotency_key_reused',
        `Idempotency-Key ${req.idempotencyKey} was already used for backfill ${backfillId} with a different request`,
      );
    }
    // A retried request (its first attempt may have died halfway) also drives the backfill on.
    if (existing.status === 'running') {
      await pumpBackfill(deps, backfillId).catch((err) => deps.log.error({ backfill: backfillId, err }, 'backfill pump failed'));
    }
    return { backfill: (await getBackfill(deps.db, backfillId)) ?? existing, created: false };
  }
  deps.log.info(
    { backfill: backfillId, workflow: req.workflow, times: times.length, mode: req.mode, parallelism: item.parallelism },
    'backfill created',
  );
  try {
    await pumpBackfill(deps, backfillId);
  } catch (err) {
    // The backfill exists and is due: the sweeper carries on.
    deps.log.error({ backfill: backfillId, err }, 'backfill could not start its first runs');
  }
  return { backfill: (await getBackfill(deps.db, backfillId)) as BackfillItem, created: true };
}

/** Most rounds of one pump: one reservation per fire time, plus lost races. */
const MAX_BACKFILL_PUMP_ROUNDS = 2 * MAX_BACKFILL_TIMES + 10;

/** Reserves and starts fire times while the mode allows; completes the backfill when all ended. */
export async function pumpBackfill(deps: Deps, backfillId: string): Promise<void> {
  const { db } = deps;
  for (let round = 0; round < MAX_BACKFILL_PUMP_ROUNDS; round++) {
    const b = await getBackfill(db, backfillId);
    if (b?.status !== 'running') return;
    const inflight = b.inflight?.size ?? 0;
    if (b.next >= b.times.length) {
      if (inflight === 0 && (await complete(db, b, deps.now()))) deps.log.info({ backfill: backfillId }, 'backfill completed');
      return;
    }
    const limit = b.mode === 'serial' ? 1 : b.parallelism;
    if (inflight >= limit) return;
    const n = b.next;
    const runId = backfillRunId(b, b.times[n] as number);
    const reserved = await reserve(db, b, n, runId, limit, deps.now());
    if (!reserved) continue; // another pump moved the cursor first: look again
    await startFor(deps, reserved, n, runId);
  }
  deps.log.warn(
    { backfill: backfillId, rounds: MAX_BACKFILL_PUMP_ROUNDS },
    'backfill pump reached its round limit; the sweeper drives it on',
  );
}

function outcomeOf(run: RunItem, b: BackfillItem): BackfillOutcome {
  if (run.trigger?.backfillId !== b.backfillId) return 'existing';
  if (run.status === 'succeeded') return 'succeeded';
  if (run.status === 'skipped') return 'skipped';
  return 'failed';
}

/** Creates the run of reserved fire time `n` (a no-op if it exists) and counts it at once if it already ended. */
async function startFor(deps: Deps, b: BackfillItem, n: number, runId: string): Promise<void> {
  const t = b.times[n] as number;
  const fireTime = new Date(t);
  let created: boolean;
  try {
    ({ created } = await startWorkflow(deps, {
      workflow: b.workflow,
      version: b.version,
      params: renderScheduleParams(b.params, fireTime, b.timezone, b.scheduleId ?? b.backfillId),
      trigger: {
        type: 'backfill',
        backfillId: b.backfillId,
        fireTime: fireTime.toISOString(),
        ...(b.scheduleId !== undefined && { scheduleId: b.scheduleId }),
      },
      runId,
    }));
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    await recordOutcome(deps.db, b.backfillId, runId, 'failed', deps.now(), { fireTime: t, message: err.message });
    deps.log.error({ backfill: b.backfillId, fireTime: fireTime.toISOString(), err: err.message }, 'backfill could not start a run');
    return;
  }
  if (created) {
    deps.log.info({ backfill: b.backfillId, run: runId, fireTime: fireTime.toISOString(), index: n }, 'backfill run created');
    // (`after:create:RUN` fires inside the put itself.) Named per fire time, so a test can die halfway.
    if (crashEnabled) crashPoint(`after:backfill:${n}`);
  }
  const run = await getRun(deps.db, runId);
  if (run && TERMINAL_RUN.has(run.status)) await recordOutcome(deps.db, b.backfillId, runId, outcomeOf(run, b), deps.now());
}

/** A run of the backfill ended (from the master): count it, then start what the mode now allows. */
export async function backfillRunEnded(deps: Deps, backfillId: string, run: RunItem): Promise<void> {
  const b = await getBackfill(deps.db, backfillId);
  if (!b) return;
  await recordOutcome(deps.db, backfillId, run.runId, outcomeOf(run, b), deps.now());
  await pumpBackfill(deps, backfillId);
}

/**
 * The sweeper's backstop: counts in-flight runs that ended without their event being handled, creates
 * reserved runs a crash left uncreated, pumps, and schedules its next look while work remains.
 */
export async function reconcileBackfill(deps: Deps, seed: Pick<BackfillItem, 'backfillId'>): Promise<void> {
  const { db } = deps;
  const b = await getBackfill(db, seed.backfillId);
  if (!b) return;
  let indexOf: Map<string, number> | undefined;
  for (const runId of b.inflight ?? []) {
    const run = await getRun(db, runId);
    if (!run) {
      // Reserved, then the reserver died before the put: create it now (same deterministic id).
      indexOf ??= new Map(b.times.slice(0, b.next).map((t, i) => [backfillRunId(b, t), i]));
      const n = indexOf.get(runId);
      if (n !== undefined) await startFor(deps, b, n, runId);
    } else if (TERMINAL_RUN.has(run.status)) {
      await recordOutcome(db, b.backfillId, runId, outcomeOf(run, b), deps.now());
    }
  }
  if (b.status === 'running') await pumpBackfill(deps, b.backfillId);
  const fresh = await getBackfill(db, b.backfillId);
  if (!fresh || fresh.dueAt === undefined) return;
  const more = fresh.status === 'running' || (fresh.inflight?.size ?? 0) > 0;
  await setBackfillDue(db, fresh, more ? deps.now() + db.config.watchdogMs : undefined);
}

/** Stops reserving new fire times. Runs in flight finish and are still counted. */
export async function cancelBackfill(deps: Deps, backfillId: string): Promise<BackfillItem> {
  const done = await cancel(deps.db, backfillId, deps.now());
  if (done) {
    deps.log.info({ backfill: backfillId, from: 'running', to: 'cancelled' }, 'backfill transition');
    return done;
  }
  const b = await getBackfill(deps.db, backfillId);
  if (!b) throw notFound(`backfill ${backfillId}`);
  return b;
}

/** The public view: progress counts and one line per fire time started so far. */
export function backfillView(b: BackfillItem) {
  const size = (s?: Set<string>) => s?.size ?? 0;
  const statusOf = (runId: string) => {
    if (b.inflight?.has(runId)) return 'running';
    for (const o of OUTCOMES) if (b[o]?.has(runId)) return o === 'existing' ? 'already_ran' : o;
    return 'running';
  };
  return {
    backfillId: b.backfillId,
    workflow: b.workflow,
    scheduleId: b.scheduleId,
    cron: b.cron,
    timezone: b.timezone,
    start: iso(b.rangeStart),
    end: iso(b.rangeEnd),
    mode: b.mode,
    parallelism: b.parallelism,
    rerun: b.rerun,
    status: b.status,
    progress: {
      total: b.times.length,
      done: size(b.succeeded),
      failed: size(b.failed),
      skipped: size(b.skipped),
      alreadyRan: size(b.existing),
      running: size(b.inflight),
      remaining: b.times.length - b.next,
    },
    runs: b.times.slice(0, b.next).map((t) => {
      const runId = backfillRunId(b, t);
      return { fireTime: iso(t), runId, status: statusOf(runId) };
    }),
    pending: b.times.slice(b.next, b.next + 20).map(iso),
    errors: b.errors?.map((e) => ({ fireTime: iso(e.fireTime), message: e.message })),
    createdAt: iso(b.createdAt),
    updatedAt: iso(b.updatedAt),
    endedAt: iso(b.endedAt),
  };
}
