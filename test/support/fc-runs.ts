import fc from 'fast-check';

/**
 * The number of cases for a fast-check property: `n` in `npm test`; at most the global `numRuns` when
 * one is configured. The mutation run configures one (`scripts/mutate/fc-runs-setup.ts`, `BATON_FC_RUNS`,
 * default 25), because a property run once per mutant at 300-1,000 cases makes the run take hours.
 * A property that passes `{ numRuns: n }` itself overrides the global setting, so every property
 * goes through this function instead.
 */
export function numRuns(n: number): number {
  const cap = fc.readConfigureGlobal()?.numRuns;
  return cap === undefined ? n : Math.min(n, cap);
}
