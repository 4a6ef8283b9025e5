/**
 * Guard mutants that no test can kill because the condition left is exactly as strong as the whole one,
 * given an invariant every write keeps. Each is argued here, not run (`npm run mutate -- --equivalent`
 * runs them too), and listed in the report with its reason. Where the redundant part could simply go,
 * it went (see docs/mutation.md); what stays here is kept on purpose, as defence in depth: dropping it
 * would make a guard depend on an invariant that many writes, including future ones, must keep.
 */
export const EQUIVALENT: readonly { readonly guard: string; readonly mutant: string; readonly reason: string }[] = [
  {
    guard: 'tasks.ts:wake (update)',
    mutant: 'without status',
    reason:
      "`wake` (retry or resume) is set only together with `status = 'waiting'`, and every write that leaves `waiting` " +
      '(wake, a callback, a Step Functions event, the sweeper ending the attempt, mark success, cancel, reset) removes it, ' +
      'so `wake = :w` implies the status. Kept: a future write that left `waiting` without removing `wake` would otherwise ' +
      'let a stale wake re-queue a running attempt.',
  },
];

/** The reason a mutant is equivalent, or undefined. */
export function equivalence(guard: string, mutant: string): string | undefined {
  return EQUIVALENT.find((e) => e.guard === guard && e.mutant === mutant)?.reason;
}
