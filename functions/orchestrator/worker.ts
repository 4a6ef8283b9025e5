import { crashEnabled, crashPoint } from '../common/crash.js';
import { MAP_TYPE } from '../engine/definition/map.js';
import { findReferences, TemplateError } from '../engine/definition/template.js';
import type { TaskSpec } from '../engine/definition/types.js';
import { and } from '../store/expr.js';
import { keys, type RunItem, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { getRun } from '../store/runs.js';
import { claim, type Ending, finishAttempt, getTask, holds, NOT_WOKEN, setDeadline } from '../store/tasks.js';
import { UnstorableError } from '../store/unstorable.js';
import { AttemptTimeout, LeaseLost } from '../tasks/abort.js';
import type { Outcome } from '../tasks/executor.js';
import { defaultSecretSource } from '../tasks/secrets/from-env.js';
import { redactOutcome, renderWithSecrets } from '../tasks/secrets/resolve.js';
import { SecretMissingError } from '../tasks/secrets/source.js';
import { decide } from './attempt-ending.js';
import { mintCallbackToken } from './callback-token.js';
import { abandonClaimed } from './cancel.js';
import { CancelWatch } from './cancel-watch.js';
import { childService } from './children.js';
import { type ClaimProbe, probeView, sendProbe } from './claim-window.js';
import { onlyCountedJoinsAfter } from './counted-join.js';
import { dependencyService } from './dependents.js';
import type { Deps, Job } from './deps.js';
import { EagerBudget } from './eager.js';
import { Lease } from './lease.js';
import { isMapItem, itemScope, runMap, specOf } from './map.js';
import { advance } from './master.js';
import { holdClaimed } from './operations/pause.js';
import { poolGate, releaseAfter } from './pools.js';
import { recordEnding } from './unstorable-outcome.js';
import { loadWorkflow } from './workflows.js';

/**
 * The worker: claims one attempt, runs its executor while holding the lease, records the outcome,
 * and advances the run from it inline (the master's `advance`). When that makes successors ready and
 * the invocation has time and places left, it runs those attempts too, claimed by the writes that made
 * them ready (eager dispatch, see `eager.ts`): one after another along a chain, side by side across a
 * fan-out. A duplicate delivery loses the claim and stops; a holder whose lease was reclaimed stops
 * without writing anything.
 *
 * `remainingMs`: the time left in the invocation (Lambda's); without it, `BATON_EAGER_BUDGET_MS`.
 * Resolves once every attempt it started is over; rejects with the first error any of them threw
 * (each such attempt is left to its lease and the sweeper, as for an invocation that died).
 */
export async function runAttempt(deps: Deps, job: Job, remainingMs?: () => number): Promise<void> {
  const cfg = deps.db.config;
  const budget = remainingMs ? new EagerBudget(cfg, remainingMs) : EagerBudget.local(cfg, deps.now);
  const running = new Set<Promise<void>>();
  const errors: unknown[] = [];
  const start = (j: Job, k?: Kept) => {
    const p: Promise<void> = attempt(deps, j, k, budget, keep)
      .catch((err) => {
        if (k) deps.log.error({ run: j.runId, task: j.task, attempt: j.attempt, err }, 'eager attempt failed; its lease will lapse');
        errors.push(err);
      })
      .finally(() => running.delete(p));
    running.add(p);
  };
  // Held: claimed by the write that made it ready. A map's next item comes queued: claimed by its attempt.
  const keep = (k: Kept) =>
    start({ runId: k.task.runId, task: k.task.name, attempt: k.task.attempt }, k.task.status === 'running' ? k : undefined);
  start(job);
  while (running.size > 0) await Promise.all(running);
  if (errors.length > 0) throw errors[0];
}

/**
 * An attempt this invocation's inline advance made ready and keeps to run itself, with the `recoveries`
 * of the view of the run that advance decided from (undefined: no view, a map's item), and, when its
 * claim went out with a run read (`claim-window.ts`), that read and when the claim's answer was in.
 */
interface Kept {
  readonly task: TaskItem;
  readonly seen?: number;
  readonly probe?: ClaimProbe;
  readonly claimBack?: number;
}

/**
 * One attempt: claimed here, or `held` already (a successor that this invocation's inline advance
 * made ready and claimed in the same write, see `eager.ts`). A successor it keeps goes to `keep`.
 * It holds one of the budget's places until it advances (the place passes to what it starts) or ends.
 */
async function attempt(deps: Deps, job: Job, heldBy: Kept | undefined, budget: EagerBudget, keep: (k: Kept) => void): Promise<void> {
  let placed = true;
  const release = () => {
    if (placed) budget.release();
    placed = false;
  };
  try {
    await attemptIn(deps, job, heldBy, budget, keep, release);
  } finally {
    release();
  }
}

async function attemptIn(
  deps: Deps,
  job: Job,
  heldBy: Kept | undefined,
  budget: EagerBudget,
  keep: (k: Kept) => void,
  release: () => void,
): Promise<void> {
  const cfg = deps.db.config;
  const held = heldBy?.task;
  const claimedAt = held?.claimedAt ?? deps.now();
  // A dispatched claim gets the window too: its probe goes out right before its claiming write (not for
  // a map item, whose partition the second stop pass does not scan; it reads after its claim).
  const own = !held && cfg.claimWindowMs > 0 && !isMapItem({ name: job.task }) ? sendProbe(deps, job.runId) : undefined;
  let t = held ?? (await claim(deps.db, job.runId, job.task, job.attempt, deps.workerId, claimedAt, job.dueAt));
  const claimBack = heldBy?.claimBack ?? performance.now();
  if (!t) {
    deps.log.debug({ run: job.runId, task: job.task, attempt: job.attempt }, 'claim lost: already taken or moved on');
    return;
  }
  // The run is read after the claim, not before, and that read decides: if the run was not paused when
  // read, the claim happened before any pause, so the attempt counts as already running at the pause.
  // A paused run gets its attempt back as held; no read is added to the claim path (see orchestrator/operations).
  // A held attempt (claimed by the write that queued it) needs this check too: the advance's own run read
  // came before that write (even before the ending, `AdvanceOptions.run`), so a pause or a cancel that
  // lands between the two is seen only here; the queueing write's condition is on the task item, which a
  // pause does not touch. Proving it in that write would take a transaction with a check of the run item
  // (twice the write units, and about two writes' latency). Instead its run read went out with that write
  // (the probe), and stands for a read after the claim when it shows the run running and both answers
  // came back within W/2; the pause and the master's second stop pass cover the rest (`claim-window.ts`).
  // A dispatched claim sent its own probe the same way. Otherwise (too slow, or the probe failed) the run
  // is read here, after the claim.
  const windowProbe = heldBy?.probe ?? own;
  const probed = windowProbe ? await probeView(deps, windowProbe, claimBack) : undefined;
  const readFrom = probed?.sentWall ?? deps.now();
  const readSent = probed?.sentAt ?? performance.now();
  const run = probed ? probed.run : await getRun(deps.db, job.runId);
  if (!run) return;
  if (run.status === 'paused') return holdClaimed(deps, t, claimedAt);
  if (TERMINAL_RUN.has(run.status)) return abandonClaimed(deps, t, run.status);
  if (heldBy?.seen !== undefined && (run.recoveries ?? 0) > heldBy.seen && run.recovery?.tasks.includes(t.name)) {
    // Made ready by an advance whose view of the run predates a recovery that re-runs this task (see
    // `AdvanceOptions.run`): that recovery resets it (or did), which fences this claim; nothing runs.
    deps.log.info(
      { run: t.runId, task: t.name, attempt: t.attempt, recovery: run.recovery.n },
      'held attempt predates a recovery; not run',
    );
    return;
  }
  // The lease begins at that read, somewhere between these two times; its record keeps both, so that
  // "nothing ran while paused" can be checked from the table (test/crash/operations.test.ts). Through the
  // window: from sending the claim and the probe to both answers (`windowed`, less than W/2 apart).
  const confirmedAt = probed?.confirmedAt ?? deps.now();
  t = { ...t, claimedAt: readFrom, confirmedAt, ...(probed?.confirmedAt !== undefined && { windowed: true }) };
  const wf = await loadWorkflow(deps.db, run.workflow, run.version);
  const spec = specOf(wf.definition, job.task);
  if (!spec) return;
  deps.log.info({ run: t.runId, task: t.name, attempt: t.attempt, fence: t.fence, from: 'queued', to: 'running' }, 'task transition');
  const gated = await poolGate(deps, spec, t); // undefined: no pool, or the attempt holds its slots
  if (!gated && spec.timeoutMs !== undefined && t.deadline === undefined) {
    t = await setDeadline(deps.db, t, (t.attemptStartedAt ?? deps.now()) + spec.timeoutMs);
    if (!t) return;
  }
  if (crashEnabled) crashPoint('before:execute');
  let ending = gated ?? (await execute(deps, run, spec, t));
  if (!ending) return;
  if (crashEnabled) crashPoint('after:execute');
  // The ending says this worker advances the run: the master re-driven by its record reads before it writes.
  if (deps.db.config.inlineAdvance && (ending.kind === 'succeeded' || ending.kind === 'failed')) ending = { ...ending, inline: true };
  const now = deps.now();
  // The view the inline advance decides from: the run read that checked this attempt's claim, while that
  // read is younger than `advanceViewMaxAgeMs` (no read at all); else a read sent with the ending's write,
  // not after it (one round trip fewer per step). Either may predate a pause, a cancel or a recovery that
  // lands before the ending: `AdvanceOptions.run` says why that is safe whatever the view's age. Under
  // `failureStrategy: end` a success's advance decides from the view whether its successors start (a
  // failure recorded before this ending skips them), so that view is read with the ending; a failure
  // skips them whatever the view says. Not for a task that nothing else can run beside (`graph.alone`:
  // every other task ended before it started or starts after it ends): no failure but its own can be
  // recorded while it runs, so the view from its claim shows every one recorded before its ending.
  const inline = (ending.kind === 'succeeded' || ending.kind === 'failed') && ending.inline === true;
  const decidesStart = wf.definition.failureStrategy === 'end' && ending.kind === 'succeeded' && !wf.graph.alone.has(t.name);
  const young = !decidesStart && performance.now() - readSent < cfg.advanceViewMaxAgeMs;
  // A success told only to counted joins: its advance is the ending's record's (`counted-join.ts`), and
  // the inline one returns before it looks at any view.
  const viewless = ending.kind === 'succeeded' && onlyCountedJoinsAfter(wf, t.name);
  const view =
    inline && !isMapItem(t) && !viewless ? (young ? Promise.resolve(run) : getRun(deps.db, t.runId).catch(() => undefined)) : undefined;
  let done: TaskItem | undefined;
  ({ done, ending } = await recordEnding(deps, t, ending, now, ending.kind === 'suspend' ? and(holds(t), NOT_WOKEN) : holds(t)));
  if (!done && ending.kind === 'suspend') {
    // What the attempt waits for arrived while it ran: suspend with an immediate wake-up instead.
    ending = { ...ending, at: now };
    done = await finishAttempt(deps.db, t, ending, now, holds(t));
  }
  if (!done) {
    deps.log.warn({ run: t.runId, task: t.name, attempt: t.attempt }, 'lease lost before the outcome was recorded; discarding it');
    return;
  }
  deps.log.info(
    { run: t.runId, task: t.name, attempt: t.attempt, from: 'running', to: done.status, error: done.error?.reason },
    'task transition',
  );
  await releaseAfter(deps, spec, t, done);
  if (ending.kind === 'retry' || ending.kind === 'suspend') await deps.timer(keys.task(t.runId, t.name), ending.at);
  else if (deps.db.config.inlineAdvance && TERMINAL_TASK.has(done.status)) {
    const seen = await view;
    release();
    await advanceInline(deps, done, budget, keep, seen);
  }
}

/**
 * Advances the run from the ending just recorded, as the master would, and keeps the attempts it makes
 * ready that the budget allows, for this invocation to run. A failure here is logged, not thrown:
 * the ending is recorded, and its stream record makes the master finish the advance.
 */
async function advanceInline(deps: Deps, done: TaskItem, budget: EagerBudget, keep: (k: Kept) => void, run: RunItem | undefined) {
  // Every successor the budget allows is claimed by the write that makes it ready; the others are dispatched.
  // The claim window's probe is sent right before the first such write and stands for all of them: each
  // claim was sent after it, and each is judged by its own answer's time (`claim-window.ts`).
  let probe: ClaimProbe | undefined;
  let taken = 0;
  let kept = 0;
  const wants = (spec: TaskSpec) => {
    if (!budget.take(spec)) return false;
    taken++;
    if (deps.db.config.claimWindowMs > 0 && !isMapItem(done)) probe ??= sendProbe(deps, done.runId);
    return true;
  };
  try {
    // `run`: the view (undefined if its read failed: the advance reads it then).
    const seen = run && (run.recoveries ?? 0);
    const took = (t: TaskItem) => {
      kept++;
      keep({ task: t, seen, ...(probe && t.status === 'running' && { probe, claimBack: performance.now() }) });
    };
    const eager = { owner: deps.workerId, wants, took };
    await advance(deps, done, { by: 'worker', unindexed: true, eager, ...(run && { run }) });
  } catch (err) {
    deps.log.warn(
      { run: done.runId, task: done.name, attempt: done.attempt, err },
      'inline advance failed; the master advances the run from the stream',
    );
  } finally {
    // Places taken for successors that another writer made ready first (or that a failure left unqueued).
    budget.release(taken - kept);
  }
}

/** Runs the executor under the lease and the deadline; undefined means the lease was lost. */
async function execute(deps: Deps, run: RunItem, spec: TaskSpec, t: TaskItem): Promise<Ending | undefined> {
  const aborter = new AbortController();
  const lease = new Lease(deps, t, () => aborter.abort(new LeaseLost()));
  const watch = new CancelWatch(deps, t, (reason) => aborter.abort(reason));
  let timedOut = false;
  const deadlineTimer =
    t.deadline !== undefined
      ? setTimeout(
          () => {
            timedOut = true;
            aborter.abort(new AttemptTimeout());
          },
          Math.max(0, t.deadline - deps.now()),
        )
      : undefined;
  lease.start();
  watch.start();
  let outcome: Outcome;
  try {
    outcome = await invoke(deps, run, spec, t, aborter.signal);
  } catch (err) {
    // Data the executor derived and the table refused (a child's params) is refused again on a retry.
    outcome =
      err instanceof UnstorableError
        ? { status: 'failed', reason: `data_${err.kind}`, message: err.message, retryable: false }
        : { status: 'failed', reason: 'error', message: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(deadlineTimer);
    watch.stop();
    await lease.stop();
  }
  if (lease.lost || watch.fenced) return undefined;
  // Past the deadline counts even if the timer had no chance to fire: an executor that answers at once
  // (a resumed wait suspending again) would otherwise be re-suspended at its deadline, over and over.
  if ((timedOut || (t.deadline !== undefined && deps.now() >= t.deadline)) && outcome.status !== 'succeeded') {
    outcome = { status: 'failed', reason: 'timeout', message: `attempt exceeded its timeout of ${spec.timeoutMs} ms` };
  }
  return decide(deps, spec, t, outcome);
}

async function invoke(deps: Deps, run: RunItem, spec: TaskSpec, t: TaskItem, signal: AbortSignal): Promise<Outcome> {
  if (spec.type === MAP_TYPE) {
    const scope = { params: run.params, run: { id: run.runId, workflow: run.workflow }, task: { name: t.name, attempt: t.attempt } };
    return runMap(deps, run, spec, t, { ...scope, tasks: await upstreamOutputs(deps, run.runId, spec.config) });
  }
  const executor = deps.executors[spec.type];
  if (!executor) return { status: 'failed', reason: 'unknown_type', message: `no executor for type ${spec.type}`, retryable: false };
  let rendered: unknown;
  let secrets: readonly string[];
  try {
    ({ config: rendered, values: secrets } = await renderWithSecrets(
      spec.config,
      {
        params: run.params,
        tasks: await upstreamOutputs(deps, run.runId, spec.config),
        run: { id: run.runId, workflow: run.workflow },
        task: { name: t.name, attempt: t.attempt },
        ...itemScope(t),
      },
      deps.secrets ?? defaultSecretSource(),
      executor.secrets,
    ));
  } catch (err) {
    if (err instanceof TemplateError) return { status: 'failed', reason: 'template', message: err.message, retryable: false };
    if (err instanceof SecretMissingError) return { status: 'failed', reason: 'secret_missing', message: err.message, retryable: false };
    throw err;
  }
  const parsed = executor.schema.safeParse(rendered);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${[t.name, ...i.path].join('.')}: ${i.message}`).join('; ');
    return redactOutcome({ status: 'failed', reason: 'invalid_config', message: msg, retryable: false }, secrets);
  }
  // Whatever the attempt produced (or threw) is scrubbed of secret values before anything stores or logs it.
  const outcome = await executor
    .execute({
      runId: t.runId,
      task: t.name,
      attempt: t.attempt,
      idempotencyKey: `${t.runId}/${t.name}/${t.attempt}`,
      config: parsed.data,
      signal,
      state: t.state,
      startedAt: t.attemptStartedAt ?? deps.now(),
      now: deps.now,
      children: childService(deps, run, t),
      callbacks: { mint: () => mintCallbackToken(t.runId, t.name, t.attempt) },
      dependencies: dependencyService(deps, run, t),
      aws: deps.aws,
      localFunctions: deps.localFunctions,
    })
    .catch((err): Outcome => ({ status: 'failed', reason: 'error', message: err instanceof Error ? err.message : String(err) }));
  return redactOutcome(outcome, secrets);
}

/** Loads the outputs of the upstream tasks that the config's templates mention (and only those). */
async function upstreamOutputs(deps: Deps, runId: string, config: unknown) {
  const names = new Set<string>();
  for (const r of findReferences(config)) if (r.kind === 'tasks' && r.name) names.add(r.name);
  const out: Record<string, { output: unknown }> = {};
  await Promise.all(
    [...names].map(async (n) => {
      const u = await getTask(deps.db, runId, n);
      if (u?.status === 'succeeded') out[n] = { output: u.output };
    }),
  );
  return out;
}
