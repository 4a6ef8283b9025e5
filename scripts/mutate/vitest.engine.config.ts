import { defineConfig } from 'vitest/config';
import { QuickFirstSequencer } from './quick-first-sequencer.js';

/**
 * The pure engine tests alone (no DynamoDB, no global setup): what Stryker runs against each mutant of
 * `functions/engine/` (see `stryker.config.mjs`).
 */
export default defineConfig({
  test: {
    // `STRYKER_TESTS` (comma-separated files) narrows the run while iterating on one module: a lower bound
    // of its score, since the other engine tests may kill more.
    include: process.env.STRYKER_TESTS?.split(',') ?? ['test/engine/**/*.test.ts', 'test/schedule-pure/**/*.test.ts'],
    pool: 'forks',
    // fast-check properties at BATON_FC_RUNS cases (default 25) per mutant: see fc-runs-setup.ts.
    setupFiles: ['scripts/mutate/fc-runs-setup.ts'],
    // Quick files first: a mutant is killed sooner (see quick-first-sequencer.ts).
    sequence: { sequencer: QuickFirstSequencer },
    testTimeout: 60_000,
    // Instrumented code is several times slower: a test that times the validator cannot hold under it.
    // STRYKER_SKIP_TESTS (a regular expression of test names) leaves more out while iterating: a lower bound.
    testNamePattern: new RegExp(`^(?!.*(quickly${process.env.STRYKER_SKIP_TESTS ? `|${process.env.STRYKER_SKIP_TESTS}` : ''}))`),
  },
});
