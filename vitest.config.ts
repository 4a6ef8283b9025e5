import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers. `fast` (pure engine tests and the guard race tests: seconds) runs first and stops at its
 * first failure, so a removed guard fails `npm test` within its first minute; `rest` is every other
 * test file, including files in directories added later. `npm test` runs them in that order.
 */
export const FAST_TIER = ['test/engine/**/*.test.ts', 'test/schedule-pure/**/*.test.ts', 'test/guards/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // Each test file leases a DynamoDB Local from the suite's pool (test/support/dynamo-pool.ts).
    setupFiles: ['test/support/dynamo-lease.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // A worker runs its files one after another in one module graph instead of importing everything (the
    // AWS SDK above all) again for each file: the fast tier took 36 s isolated and 23 s not. What a file
    // leaves in the environment is put back after it (test/support/dynamo-lease.ts); process-wide
    // defaults built from the environment follow it (tasks/egress/dispatcher.ts, tasks/secrets/from-env.ts).
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The SDK's notice that its 2027 releases will need Node 22; the locked versions support Node 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'fast', include: FAST_TIER } },
      { extends: true, test: { name: 'rest', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...FAST_TIER] } },
    ],
  },
});
