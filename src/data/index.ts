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
 * The data layer on the same database as `store`, through the store's typed hook
 * `dataConnection()`: SQLite on the store's own connection, PostgreSQL on its pool and
 * schema. One instance per store, so dataset and schema set-up happen once. Tables are
 * created on first use (or by an explicit `ensureSchema()`).
 */
export function createDataStore(store: Store): DataStore {
  const existing = cache.get(store);
  if (existing) return existing;
  const conn = store.dataConnection();
  const data: DataStore = conn.backend === 'sqlite' ? new SqliteDataStore(conn.database) : new PgDataStore(conn.pool, conn.schema);
  cache.set(store, data);
  return data;
}
