import type { BatonConfig } from '../common/config.js';
import type { TaskSpec } from '../engine/definition/types.js';

/**
 * Eager dispatch: the worker that ends an attempt and makes a successor ready inline may run that
 * successor itself, instead of handing it to another invocation, when it has the time. The write that
 * makes it ready also claims it (`store/tasks.ts EagerStart`: status `running`, fence 1 more, owner,
 * lease): one write where a queue and a claim took two. Nothing was dispatched, so nobody else can
 * claim it; the attempt is fenced like any claimed one, and if this invocation dies before running it,
 * its lease runs out and the sweeper reclaims it (recorded as `lost`) and dispatches it again.
 *
 * An advance that makes several successors ready (a fan-out) may start several of them so: the
 * invocation then runs them side by side, each under its own lease, as a DolphinScheduler worker runs
 * tasks on its execution threads. The write that makes one ready is the only claim it gets, so a fan-out
 * of n costs n writes, not 2n, and its branches start without an invocation hop each.
 *
 * Settings (`common/config.ts`):
 * - `BATON_EAGER_MAX_STEPS` (default 8): most attempts one invocation runs after the one it was
 *   given; 0 turns eager dispatch off.
 * - `BATON_EAGER_PARALLEL` (default 8): most attempts one invocation runs (or holds, claimed and about
 *   to run) at the same time. An attempt that ends hands its place to what its advance starts, so a
 *   chain needs one; a held attempt never waits for a place (it would wait with its lease running).
 * - `BATON_EAGER_MIN_REMAINING_MS` (default 10000): an attempt is started eagerly only while at least
 *   this much time, and at least its own `timeoutMs`, remains in the invocation.
 * - `BATON_EAGER_BUDGET_MS` (default 60000): outside Lambda (no remaining time to ask), the time an
 *   invocation allows itself from its first claim.
 */
export class EagerBudget {
  private steps = 0;
  /** Attempts this invocation runs or holds to run: the one it was given, then each one taken. */
  private busy = 1;

  /** `remainingMs`: the time left in the invocation (Lambda's `getRemainingTimeInMillis`, or the local budget). */
  constructor(
    private readonly cfg: Pick<BatonConfig, 'eagerMaxSteps' | 'eagerMinRemainingMs' | 'eagerParallel'>,
    private readonly remainingMs: () => number,
  ) {}

  /** A budget for an invocation with no clock of its own: `BATON_EAGER_BUDGET_MS` from now. */
  static local(
    cfg: Pick<BatonConfig, 'eagerMaxSteps' | 'eagerMinRemainingMs' | 'eagerParallel' | 'eagerBudgetMs'>,
    now: () => number,
  ): EagerBudget {
    const end = now() + cfg.eagerBudgetMs;
    return new EagerBudget(cfg, () => end - now());
  }

  /** Whether an attempt of `spec` may be started eagerly now; counts it (a step and a place) when so. */
  take(spec: TaskSpec): boolean {
    if (this.steps >= this.cfg.eagerMaxSteps || this.busy >= this.cfg.eagerParallel) return false;
    if (this.remainingMs() < Math.max(this.cfg.eagerMinRemainingMs, spec.timeoutMs ?? 0)) return false;
    this.steps++;
    this.busy++;
    return true;
  }

  /**
   * Gives back `n` places: an attempt is over, or about to advance (its place goes to what it starts),
   * or a place taken for an attempt that some other writer made ready first (the step stays counted).
   */
  release(n = 1): void {
    this.busy = Math.max(0, this.busy - n);
  }
}
