import { crashEnabled, crashPoint } from '../common/crash.js';
import { keys, type PromotedBy, type RunItem } from '../store/items.js';
import { getRun, markStarted } from '../store/runs.js';
import { getTask } from '../store/tasks.js';
import { admit } from './concurrency.js';
import type { Deps } from './deps.js';
import { settleRoots } from './master.js';
import { armClock } from './run-timeout.js';
import { loadWorkflow } from './workflows.js';

/**
 * A new run: queue its root tasks, then mark it running. Safe to call again for the same run. `by`: who starts it.
 *
 * The roots are queued out of the due index (`QueueInfo.unindexed`: 2 index writes fewer per root), and
 * the run's own due entry is what finds them if their dispatch is lost or their holder dies before its
 * first heartbeat: it stays where the run's creation put it (its claim deadline, `createdAt` + lease),
 * so the start does not move it (2 index writes fewer per run). When it falls due while the run runs,
 * `fireDue` gives each root still in flight its entry and moves the run's to the watchdog
 * (`reconcile.ts checkStart`). A start that finds that time already passed or too far (a run started by
 * the sweeper or admitted late, a watchdog shorter than the lease) sets it to one lease from now, or the
 * watchdog if that comes first.
 *
 * A run whose start nothing gates is created `running` (`start.ts`): there is no queued → running write,
 * and its creation's stream record starts it (`startCreated`). Called for such a run (a test, a
 * re-drive), this does the same.
 */
export async function startRun(deps: Deps, runId: string, by: PromotedBy = 'master'): Promise<void> {
  const run = await getRun(deps.db, runId);
  if (run?.status === 'running' && run.startedAt === run.createdAt && run.recoveries === undefined) return startCreated(deps, run, by);
  if (run?.status !== 'queued') return;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  if (!(await admit(deps, run, wf))) return; // concurrency policy: the run was made pending or skipped
  await settleRoots(deps, run, wf, by);
  const now = deps.now();
  const { leaseMs, watchdogMs } = deps.db.config;
  const kept = run.dueAt !== undefined && run.dueAt > now && run.dueAt <= now + Math.min(leaseMs, watchdogMs);
  const started = await markStarted(deps.db, runId, now, kept ? undefined : now + Math.min(leaseMs, watchdogMs));
  if (started) deps.log.info({ run: runId, workflow: run.workflow, from: 'queued', to: 'running' }, 'run transition');
}

/**
 * A run created `running` (its creation's stream record, which carries the whole item: no run read):
 * what the queued → running path does around that write, i.e. arm its clock (timeout, sla) and queue its
 * roots. Every write is conditional (the clock's arming, each root's creation), so a duplicate delivery,
 * a retry after a crash half-way or a racing master adds nothing. The clock is armed first: a crash
 * between the two leaves roots with no item, which is what the run's due entry looks for (its creation's
 * claim deadline, `reconcile.ts checkStart`, or the watchdog's `reconcile`), and which then re-arms the
 * clock too. A run cancelled meanwhile gets its roots queued all the same: the cancel's own record (after
 * this one, on the same item) stops them, and a worker abandons any attempt of an ended run it claims.
 */
export async function startCreated(deps: Deps, run: RunItem, by: PromotedBy = 'master'): Promise<void> {
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  await armClock(deps, run);
  if (crashEnabled) crashPoint('before:roots');
  await settleRoots(deps, run, wf, by);
}

/**
 * The repair of a run started without its roots: the roots of `run` that have no item (the stream record
 * of a run created running was lost, parked, or its handler died before queueing them: the sweeper's;
 * or the API that started it inline died or failed first: the master's, `checkInlineStart`).
 * Arms the clock (a no-op when armed) and queues them, indexed. True when any were missing.
 */
export async function repairStart(deps: Deps, run: RunItem, missing: readonly string[], by: PromotedBy = 'sweeper'): Promise<boolean> {
  if (missing.length === 0) return false;
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  deps.log.warn({ run: run.runId, roots: missing, by }, 'run started without its roots: queueing them');
  await armClock(deps, run);
  await settleRoots(deps, run, wf, by, missing);
  return true;
}

/**
 * Inline start: the creator of `run`, created running (`start.ts`, `StartRequest.inline`: the API, or a
 * worker starting a child run), queues its roots and dispatches them itself, right after the put, as the
 * master would from the creation's stream record (`startCreated`), so that a run's first tasks start without a stream hop (in AWS: the event source's
 * polling, ~125 ms on average, then the master's invocation). Nothing is thrown: the run exists, and
 * its creation's record has the master finish a start that failed or died half-way (`checkInlineStart`).
 */
export async function startInline(deps: Deps, run: RunItem): Promise<void> {
  try {
    await startCreated(deps, run, 'creator');
  } catch (err) {
    deps.log.warn({ run: run.runId, err }, 'inline start failed; the master starts the run from its record');
  }
}

/**
 * The master's handling of the creation record of a run started inline (`RunItem.inlineStart`): its
 * creator queued the roots, so this checks, and writes only what is missing. It waits, until one grace
 * (`BATON_INLINE_GRACE_MS`) after the creation, for each root's own record (`Deps.images`: any image of
 * the root written after the creation), then reads the roots it saw none of (one consistent read
 * each); a root without an item (its creator died or failed first) is queued here, the clock armed
 * first (`repairStart`). In the normal case: no write, and no read once the roots' records came.
 */
export async function checkInlineStart(deps: Deps, run: RunItem, sequence?: string): Promise<void> {
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const images = sequence === undefined ? undefined : deps.images;
  const seen = (root: string) => images?.has(keys.task(run.runId, root), sequence) === true;
  const deadline = run.createdAt + deps.db.config.inlineGraceMs;
  if (images) await images.until(() => wf.graph.roots.every(seen), deadline, deps.now);
  else if (deadline > deps.now()) await new Promise((r) => setTimeout(r, deadline - deps.now()));
  const unseen = wf.graph.roots.filter((root) => !seen(root));
  if (unseen.length === 0) return;
  const items = await Promise.all(unseen.map((root) => getTask(deps.db, run.runId, root, true)));
  const missing = unseen.filter((_, i) => items[i] === undefined);
  await repairStart(deps, run, missing, 'master');
}
