/**
 * A database for the crash matrix and the soak without vitest (the `npm run crash` / `npm
 * run soak` scripts run outside it, and test/helpers/pg.ts needs vitest's state): a SQLite
 * file in a temp directory, or a fresh PostgreSQL schema dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

export const PG_URL = process.env.SLUICE_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  backend: 'sqlite' | 'postgres';
  url: string;
  dir: string;
  store: Store;
  writeConfig(extra: Record<string, unknown>): string;
  dispose(): Promise<void>;
}

export async function openScratchDatabase(backend: 'sqlite' | 'postgres'): Promise<ScratchDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), `sluice-${backend}-`));
  const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
  const url = backend === 'sqlite' ? `sqlite:${path.join(dir, 'q.db')}` : `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  const store = await openStore(url);
  return {
    backend,
    url,
    dir,
    store,
    writeConfig(extra) {
      const file = path.join(dir, `sluice.config.${randomBytes(3).toString('hex')}.json`);
      writeFileSync(file, JSON.stringify({ database: url, ...extra }));
      return file;
    },
    async dispose() {
      await store.close();
      if (backend === 'postgres') {
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await admin.end();
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function pgReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
