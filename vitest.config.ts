import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // pwsh-backed tests start real processes; two cores here, so keep the pool small and the timeouts honest.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    // Each run in its own temp dir; the run fails if it leaves a temp entry or a lab process behind.
    globalSetup: ['test/global-setup.ts'],
  },
});
