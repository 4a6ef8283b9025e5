// @ts-check
/**
 * Mutation score of the pure engine (`npm run mutate:engine`): StrykerJS mutates `functions/engine/` and
 * runs the engine tests (`scripts/mutate/vitest.engine.config.ts`) against each mutant. The guard
 * mutation run (`npm run mutate`) is a separate, purpose-built tool: see docs/mutation.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'scripts/mutate/vitest.engine.config.ts' },
  mutate: (process.env.STRYKER_MUTATE ?? 'functions/engine/**/*.ts,!functions/engine/**/index.ts,!functions/engine/definition/types.ts').split(','),
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  // Module-level (static) mutants re-run every test file: too slow on a shared 2-core machine.
  ignoreStatic: true,
  incremental: process.env.STRYKER_INCREMENTAL !== '0',
  incrementalFile: process.env.STRYKER_INCREMENTAL_FILE ?? 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: process.env.STRYKER_JSON ?? 'reports/mutation/engine.json' },
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
