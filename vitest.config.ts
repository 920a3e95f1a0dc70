import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Restarting PostgreSQL would break every other PG test running alongside; see
    // vitest.disruptive.config.ts, run after this suite by `npm test`.
    exclude: ['test/disruptive/**', 'node_modules/**'],
    // Crash, drain and multi-process tests spawn real child processes; give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel but not so wide that timing-based tests starve.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
