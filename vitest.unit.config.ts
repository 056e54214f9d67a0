import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:unit`: the pure layers' tests, for the inner loop. They need no root, no PowerShell, no network and
 * no peer tool (sshd, ansible, krb5), and finish in seconds; `npm test` stays the whole suite.
 */
export default defineConfig({
  test: {
    ...base.test,
    // Replaces the whole suite's list (mergeConfig would add to it).
    include: [
      'test/util/**/*.test.ts',
      'test/inventory/*.test.ts',
      'test/config/**/*.test.ts',
      'test/spec/**/*.test.ts',
      'test/plan/**/*.test.ts',
      'test/state/**/*.test.ts',
      'test/engine/**/*.test.ts',
      'test/journal/**/*.test.ts',
      'test/remote/{frames,clixml,invocation}.test.ts',
      'test/cli/help.test.ts',
      'test/ui/{keys,dashboard-state,fast-text,color,parity}.test.{ts,tsx}',
    ],
  },
});
