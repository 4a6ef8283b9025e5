/**
 * Join rules (`trigger`): whether a task runs, is skipped, or waits, given how its upstream tasks
 * ended. Airflow's names and semantics, with one deliberate difference: every rule waits until all
 * upstream tasks have settled (Airflow fires `one_succeeded` / `one_failed` early). A task that ran
 * early could finish the run through its sinks while a branch above it still runs, and the run's end
 * is decided by its sinks. Pure: no AWS, no clock.
 */

/** The join rules a task may name; `all_succeeded` is the default. */
export const TRIGGER_RULES = ['all_succeeded', 'all_done', 'one_succeeded', 'all_failed', 'one_failed', 'none_failed'] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];
export const DEFAULT_TRIGGER: TriggerRule = 'all_succeeded';

/**
 * How an upstream task ended, as its successors see it. `failed` is Airflow's `failed` or
 * `upstream_failed`: the task failed, or was skipped because a failure above it left it unable to run.
 * `skipped` is every other way of not running (a false condition, a rule that did not fire, a run
 * that was ending).
 */
export type Outcome = 'succeeded' | 'failed' | 'skipped';

/** What to do with the task: `skip.upstreamFailed` is whether its own successors see it as `failed`. */
export type JoinDecision =
  | { readonly kind: 'wait' }
  | { readonly kind: 'run' }
  | { readonly kind: 'skip'; readonly upstreamFailed: boolean; readonly message: string };

/**
 * Decides a task's fate from the outcomes of its upstream tasks (`undefined` for one not ended yet).
 * A task without upstream tasks always runs.
 */
export function decideJoin(rule: TriggerRule, outcomes: readonly (Outcome | undefined)[]): JoinDecision {
  if (outcomes.some((o) => o === undefined)) return { kind: 'wait' };
  const n = outcomes.length;
  const ok = outcomes.filter((o) => o === 'succeeded').length;
  const failed = outcomes.filter((o) => o === 'failed').length;
  if (n === 0) return { kind: 'run' };
  const run = { kind: 'run' } as const;
  const skip = (upstreamFailed: boolean, why: string): JoinDecision => ({
    kind: 'skip',
    upstreamFailed,
    message: `trigger ${rule}: ${why}`,
  });
  switch (rule) {
    case 'all_succeeded':
      if (ok === n) return run;
      // None failed and not all succeeded: the rest were skipped.
      return failed > 0 ? skip(true, `${failed} upstream task(s) failed`) : skip(false, `${n - ok} upstream task(s) skipped`);
    case 'all_done':
      return run;
    case 'one_succeeded':
      if (ok > 0) return run;
      // None succeeded: all were skipped unless one failed.
      return failed === 0 ? skip(false, 'every upstream task was skipped') : skip(true, 'no upstream task succeeded');
    case 'all_failed':
      return failed === n ? run : skip(false, `${n - failed} upstream task(s) did not fail`);
    case 'one_failed':
      return failed > 0 ? run : skip(false, 'no upstream task failed');
    case 'none_failed':
      return failed === 0 ? run : skip(true, `${failed} upstream task(s) failed`);
  }
}
