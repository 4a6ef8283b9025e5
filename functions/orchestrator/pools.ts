import { mapConfigOf } from '../engine/definition/map.js';
import type { TaskSpec } from '../engine/definition/types.js';
import type { FailureReason } from '../engine/failure-reason.js';
import { type RunItem, type TaskItem, TERMINAL_TASK } from '../store/items.js';
import {
  acquire,
  dropWaiting,
  enqueue,
  getPool,
  grant,
  type Holder,
  holderId,
  line,
  type PoolItem,
  parseHolder,
  putPool,
  release,
  rescheduleCheck,
  type WaitingEntry,
  waitingEntry,
} from '../store/pools.js';
import { getRun } from '../store/runs.js';
import { type Ending, getTask, requestWake, wake } from '../store/tasks.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';
import { specOf } from './map.js';
import { loadWorkflow } from './workflows.js';

/**
 * Pools (task groups): a task with `pool: NAME` runs only while it holds `poolSlots` (default 1) of
 * the pool's slots, across all workflows and runs. The semaphore itself is one item (store/pools.ts).
 *
 * - The worker asks after its claim (`poolGate`). It runs if its attempt holds slots (a resumed
 *   attempt keeps the ones it had); else it takes them if there is room and nobody waits; else it
 *   joins the line and suspends (`waiting`, with the usual backstop wake-up), holding nothing.
 * - When slots are freed (`release`), the line is pumped: the head entry is granted its slots (one
 *   conditional move from `waiting` to `holders`) and its task woken, in priority then FIFO order. An
 *   entry whose task ended or moved to another attempt is dropped.
 * - The slots belong to the attempt, not to a process: an attempt whose lease is lost and that is
 *   queued again (same attempt, continued by its next holder) keeps them; an attempt that ends (also
 *   by the sweeper: lost too often, or timed out) gives them back. A process SIGKILLed between
 *   recording an ending and releasing leaves a holder whose task has ended: the sweeper's check of
 *   the pool item (due every BATON_RECHECK_MS while anything holds or waits) frees it.
 */

/** The task names a pool that does not exist. */
export const POOL_UNKNOWN: FailureReason = 'pool_unknown';
/** The task asks for more slots than the pool has. */
export const POOL_TOO_SMALL: FailureReason = 'pool_too_small';

/** Most line entries one pump looks at; the rest waits for the next release or check. */
const MAX_PUMP_ROUNDS = 100;

const holderOf = (spec: TaskSpec, t: Pick<TaskItem, 'runId' | 'name' | 'attempt'>): Holder => ({
  runId: t.runId,
  task: t.name,
  attempt: t.attempt,
  slots: spec.poolSlots ?? 1,
});

/**
 * Called by the worker once it holds the attempt: `undefined` when the attempt may run now (no pool,
 * or it holds its slots), otherwise how the attempt ends instead (suspended in the line, or failed).
 */
export async function poolGate(deps: Deps, spec: TaskSpec, t: TaskItem): Promise<Ending | undefined> {
  if (spec.pool === undefined) return undefined;
  const { db } = deps;
  const name = spec.pool;
  const h = holderOf(spec, t);
  const id = holderId(h);
  const ctx = { run: t.runId, task: t.name, attempt: t.attempt, pool: name };
  const pool = await getPool(db, name);
  if (!pool) {
    return { kind: 'failed', error: { reason: POOL_UNKNOWN, message: `pool ${name} does not exist (create it with PUT /pools/${name})` } };
  }
  if (h.slots > pool.slots) {
    const message = `the task needs ${h.slots} slots of pool ${name}, which has ${pool.slots}`;
    return { kind: 'failed', error: { reason: POOL_TOO_SMALL, message } };
  }
  if (pool.holders?.has(id)) return undefined;
  const now = deps.now();
  const queued = line(pool).some((e) => holderId(e) === id);
  if (!queued && pool.waiting === undefined && (await acquire(db, name, h, pool.slots, now))) {
    deps.log.info({ ...ctx, slots: h.slots }, 'pool slots taken');
    return undefined;
  }
  if (!queued) await enqueue(db, name, { ...h, entry: waitingEntry(h, spec.priority ?? 0, now) }, now);
  await pumpPool(deps, name, id);
  if ((await getPool(db, name))?.holders?.has(id)) return undefined;
  deps.log.info(ctx, 'waiting for pool slots');
  return { kind: 'suspend', at: now + db.config.recheckMs, state: t.state };
}

/**
 * The worker recorded how the attempt ended (`done`): unless it suspended (and so keeps its slots),
 * give them back and wake the line.
 */
export async function releaseAfter(deps: Deps, spec: TaskSpec, t: TaskItem, done: TaskItem): Promise<void> {
  if (spec.pool === undefined || (done.status === 'waiting' && done.wake === 'resume')) return;
  await releaseHolder(deps, spec.pool, holderOf(spec, t));
}

/** The sweeper ended an attempt (lost too often, or timed out): give its slots back. */
export async function releaseEnded(deps: Deps, t: TaskItem): Promise<void> {
  const run = await getRun(deps.db, t.runId);
  const spec = run && specOf((await loadWorkflow(deps.db, run.workflow, run.version)).definition, t.name);
  if (spec?.pool !== undefined) await releaseHolder(deps, spec.pool, holderOf(spec, t));
}

async function releaseHolder(deps: Deps, name: string, h: Holder): Promise<void> {
  if (!(await release(deps.db, name, h))) return;
  deps.log.info({ run: h.runId, task: h.task, attempt: h.attempt, pool: name, slots: h.slots }, 'pool slots released');
  await pumpPool(deps, name);
}

/**
 * Grants freed slots to the line, head first, and wakes each task granted (except `self`, the
 * caller's own attempt, which is running and looks for itself). Safe to run concurrently: each grant
 * is conditional on the entry still waiting and on the room the pump read.
 */
export async function pumpPool(deps: Deps, name: string, self?: string): Promise<number> {
  const { db } = deps;
  let granted = 0;
  for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
    const pool = await getPool(db, name);
    const head = line(pool)[0];
    if (!pool || !head) return granted;
    const id = holderId(head);
    const t = await getTask(db, head.runId, head.task);
    if (pool.holders?.has(id) || !stillWaits(t, head)) {
      await dropWaiting(db, name, head.entry);
      continue;
    }
    if (pool.inUse + head.slots > pool.slots) return granted;
    if (!(await grant(db, name, head, pool.slots))) continue; // someone else moved first: look again
    granted++;
    deps.log.info({ run: head.runId, task: head.task, attempt: head.attempt, pool: name, slots: head.slots }, 'pool slots granted');
    if (id !== self && t) await wakeGranted(deps, t, head);
  }
  deps.log.warn({ pool: name, granted }, 'pool pump reached its round limit; the sweeper checks the pool again');
  return granted;
}

/** The task of a line entry still wants its slots: same attempt, not ended, not between retries. */
function stillWaits(t: TaskItem | undefined, e: WaitingEntry): t is TaskItem {
  if (!t || t.attempt !== e.attempt || TERMINAL_TASK.has(t.status)) return false;
  return t.status === 'running' || t.status === 'queued' || (t.status === 'waiting' && t.wake === 'resume');
}

/** Wakes a task granted its slots; if its attempt is still running (about to suspend), flags it so it wakes at once. */
async function wakeGranted(deps: Deps, task: TaskItem, e: WaitingEntry): Promise<void> {
  let t: TaskItem | undefined = task;
  if (t.status === 'running') {
    if (await requestWake(deps.db, e.runId, e.task, e.attempt)) return;
    t = await getTask(deps.db, e.runId, e.task);
  }
  if (t?.status !== 'waiting' || t.attempt !== e.attempt || t.wake !== 'resume') return;
  const woken = await wake(deps.db, t, deps.now());
  if (!woken) return;
  deps.log.info({ run: e.runId, task: e.task, attempt: e.attempt, from: 'waiting', to: 'queued', pool: true }, 'task transition');
  await dispatchAttempt(deps, woken);
}

/**
 * The sweeper found the pool item due: free the slots of holders whose attempt has ended (their
 * release was lost with their process), wake the line, and set the next check.
 */
export async function checkPool(deps: Deps, pool: PoolItem): Promise<void> {
  const { db } = deps;
  for (const id of pool.holders ?? []) {
    const h = parseHolder(id);
    if (!h) continue;
    if (stillHolds(await getTask(db, h.runId, h.task), h)) continue;
    if (await release(db, pool.name, h)) {
      deps.log.warn(
        { run: h.runId, task: h.task, attempt: h.attempt, pool: pool.name },
        'freed the pool slots of an attempt that had ended',
      );
    }
  }
  await pumpPool(deps, pool.name);
  await rescheduleCheck(db, pool.name, pool, deps.now() + db.config.recheckMs);
}

/** The task of a holder still has a use for its slots: same attempt, running, queued or suspended (not between retries). */
function stillHolds(t: TaskItem | undefined, h: Holder): boolean {
  return t !== undefined && t.attempt === h.attempt && !TERMINAL_TASK.has(t.status) && t.status !== 'blocked' && t.wake !== 'retry';
}

/**
 * A run's work was stopped (cancelled, or past its timeout): give back at once the slots that its
 * ended attempts hold, rather than at the pool's next check. The worker of a running attempt learns of
 * the cancel by being fenced out, so it records nothing and releases nothing; this is the release. One
 * read per pool the workflow names; each holder of this run whose task ended is released (a conditional
 * write, once), and the line is pumped. Idempotent: a re-driven record repeats it and finds nothing.
 */
export async function freeRunSlots(deps: Deps, run: RunItem): Promise<void> {
  const { db } = deps;
  const def = (await loadWorkflow(db, run.workflow, run.version)).definition;
  const names = new Set<string>();
  for (const spec of Object.values(def.tasks)) {
    if (spec.pool !== undefined) names.add(spec.pool);
    const item = mapConfigOf(spec)?.task;
    if (item?.pool !== undefined) names.add(item.pool);
  }
  await Promise.all(
    [...names].map(async (name) => {
      const pool = await getPool(db, name);
      const mine = [...(pool?.holders ?? [])].map(parseHolder).filter((h) => h?.runId === run.runId) as Holder[];
      let freed = false;
      for (const h of mine) {
        if (stillHolds(await getTask(db, h.runId, h.task), h) || !(await release(db, name, h))) continue;
        freed = true;
        deps.log.info(
          { run: h.runId, task: h.task, attempt: h.attempt, pool: name, slots: h.slots },
          'pool slots released: the run stopped',
        );
      }
      if (freed) await pumpPool(deps, name);
    }),
  );
}

/** Creates or resizes a pool, then wakes the line (a larger pool may have room now). */
export async function resizePool(deps: Deps, name: string, slots: number): Promise<PoolItem | undefined> {
  const p = await putPool(deps.db, name, slots, deps.now());
  await pumpPool(deps, name);
  return p;
}
