import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkIdent, createDataStore } from '../../src/data/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { chunkedLandingConformance } from './conformance-chunked.js';
import { dataStoreConformance, type DataHarness } from './conformance.js';

async function sqliteHarness(): Promise<DataHarness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-data-'));
  const file = path.join(dir, 'sluice.db');
  const stores: SqliteStore[] = [];
  const openStore = async () => {
    const store = new SqliteStore({ path: file });
    await store.migrate();
    stores.push(store);
    return store;
  };
  const main = await openStore();
  return {
    backend: 'sqlite' as const,
    data: () => createDataStore(main),
    reopen: async () => createDataStore(await openStore()),
    childLocation: () => ({ backend: 'sqlite', path: file }),
    async count(table, captureId) {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const q = `SELECT count(*) FROM "${checkIdent(table, 'table')}"${captureId === undefined ? '' : ' WHERE capture_seq = (SELECT seq FROM captures WHERE capture_id = ?)'}`;
        return db
          .prepare(q)
          .pluck()
          .get(...(captureId === undefined ? [] : [captureId])) as number;
      } finally {
        db.close();
      }
    },
    async exec(statement) {
      const db = new Database(file, { fileMustExist: true });
      try {
        db.exec(statement((name) => `"${checkIdent(name, 'table')}"`));
      } finally {
        db.close();
      }
    },
    async close() {
      await Promise.allSettled(stores.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

dataStoreConformance('SQLite (temp file)', sqliteHarness);
chunkedLandingConformance('SQLite (temp file)', sqliteHarness);
