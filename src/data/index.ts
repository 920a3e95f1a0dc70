import type pg from 'pg';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import type { DataStore } from './data-store.js';
import { PgDataStore } from './pg-data-store.js';
import { SqliteDataStore } from './sqlite-data-store.js';

export * from './anomaly-checks.js';
export * from './data-store.js';
export * from './dataset.js';
export * from './reject-threshold.js';
export { PgDataStore } from './pg-data-store.js';
export { SqliteDataStore } from './sqlite-data-store.js';

const cache = new WeakMap<Store, DataStore>();

/**
 * The data layer on the same database as `store`: SQLite through the store's own
 * connection (`store.database`), PostgreSQL through its pool and schema (`store.pool`,
 * `store.schema`). One instance per store, so dataset and schema set-up happen once.
 * Tables are created on first use (or by an explicit `ensureSchema()`).
 */
export function createDataStore(store: Store): DataStore {
  const existing = cache.get(store);
  if (existing) return existing;
  let data: DataStore;
  if (store.backend === 'sqlite') {
    data = new SqliteDataStore((store as SqliteStore).database);
  } else if (store.backend === 'postgres') {
    const pgStore = store as unknown as { pool?: pg.Pool; schema?: string };
    if (!pgStore.pool) throw new Error('createDataStore: this PostgreSQL store exposes no connection pool (`pool`)');
    data = new PgDataStore(pgStore.pool, pgStore.schema ?? 'sluice');
  } else {
    throw new Error(`createDataStore: unknown store backend ${JSON.stringify((store as { backend?: unknown }).backend)}`);
  }
  cache.set(store, data);
  return data;
}
