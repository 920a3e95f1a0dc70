/**
 * SQLite-only: `migrate()` on a database that already has every migration skips loading the
 * migrations' SQL, which relies on SQLITE_SCHEMA_VERSION naming the last of a contiguous list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { SQLITE_SCHEMA_VERSION, SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

describe('SQLite migrations', () => {
  const dirs: string[] = [];
  const dbFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-sqlite-migrations-'));
    dirs.push(dir);
    return path.join(dir, 'sluice.db');
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('lists versions 1…SQLITE_SCHEMA_VERSION, contiguous', () => {
    expect(SQLITE_MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SQLITE_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('migrates a new file to the newest version, and a second migrate() changes nothing', async () => {
    const file = dbFile();
    const store = new SqliteStore({ path: file });
    await store.migrate();
    expect(await store.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
    await store.close();
    const again = new SqliteStore({ path: file });
    await again.migrate();
    expect(await again.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
    expect(await again.countByState()).toEqual([]);
    await again.close();
  });

  it('applies only the missing migrations to a database that is behind', async () => {
    const file = dbFile();
    const db = new Database(file);
    db.exec('CREATE TABLE sluice_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of SQLITE_MIGRATIONS.slice(0, 3)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO sluice_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(m.version, m.name);
    }
    db.close();
    const store = new SqliteStore({ path: file });
    await store.migrate();
    expect(await store.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
    const applied = new Database(file).prepare('SELECT version, applied_at FROM sluice_migrations ORDER BY version').all() as {
      version: number;
      applied_at: number;
    }[];
    expect(applied.filter((r) => r.applied_at === 0).map((r) => r.version)).toEqual([1, 2, 3]);
    expect(applied.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    await store.close();
  });
});
