import fc from 'fast-check';

/**
 * Setup file of the engine mutation run only (`vitest.engine.config.ts`): fast-check properties run
 * `BATON_FC_RUNS` cases (default 25) instead of their `npm test` count (100-1,000). Properties pass
 * their count through `numRuns()` (test/support/fc-runs.ts), which honours this cap; ones that pass
 * none get it as fast-check's default. The example-based tests are unchanged.
 */
const runs = Number(process.env.BATON_FC_RUNS ?? 25);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`BATON_FC_RUNS must be a positive integer, got '${process.env.BATON_FC_RUNS}'`);
fc.configureGlobal({ numRuns: runs });
