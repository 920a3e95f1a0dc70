import { PG, PG_REQUIRED, pgUnavailableMessage } from './pg.js';

/**
 * One database for a multi-process test, on either backend: a URL child processes can use
 * (`--config` points at a config file holding it) and a store for the test to inspect. The
 * same helper the crash matrix and soak scripts use outside vitest.
 */
export { openScratchDatabase as openTestDatabase, type ScratchDatabase as TestDatabase } from '../crash/database.js';

/** Backends to run a multi-process test on: SQLite always, PostgreSQL when reachable (and
 * always when SLUICE_REQUIRE_PG=1, where an unreachable server fails the test). */
export function backendsUnderTest(): ('sqlite' | 'postgres')[] {
  if (PG.available) return ['sqlite', 'postgres'];
  if (PG_REQUIRED) throw new Error(pgUnavailableMessage());
  return ['sqlite'];
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
