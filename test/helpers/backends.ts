import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createPgTestSchema, PG, PG_REQUIRED, pgUnavailableMessage } from './pg.js';

/**
 * One database for a multi-process test, on either backend: a URL child processes can
 * use (`--config` points at a config file holding it) and a store for the test to inspect.
 */
export interface TestDatabase {
  backend: 'sqlite' | 'postgres';
  url: string;
  dir: string;
  store: Store;
  /** Writes a config file with this database and the given extra settings. */
  writeConfig(extra: Record<string, unknown>): string;
  dispose(): Promise<void>;
}

export async function openTestDatabase(backend: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), `sluice-${backend}-`));
  let url: string;
  let dropPg: (() => Promise<void>) | undefined;
  if (backend === 'sqlite') {
    url = `sqlite:${path.join(dir, 'q.db')}`;
  } else {
    const schema = createPgTestSchema();
    url = `${schema.connectionString}${schema.connectionString.includes('?') ? '&' : '?'}schema=${schema.schema}`;
    dropPg = () => schema.drop();
  }
  const store = await openStore(url);
  return {
    backend,
    url,
    dir,
    store,
    writeConfig(extra) {
      const file = path.join(dir, `sluice.config.${Math.random().toString(36).slice(2, 8)}.json`);
      writeFileSync(file, JSON.stringify({ database: url, ...extra }));
      return file;
    },
    async dispose() {
      await store.close();
      await dropPg?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
