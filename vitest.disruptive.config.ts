import { defineConfig } from 'vitest/config';

/**
 * Tests that disturb shared services (they restart PostgreSQL). They run after the main
 * suite, one file at a time, so no other test is talking to the server when it goes down.
 */
export default defineConfig({
  test: {
    include: ['test/disruptive/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
