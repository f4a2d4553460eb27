import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes on loopback; keep parallelism
    // modest on a 2-core machine so timeouts in the Raft layer stay meaningful.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
