import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** Opens (and migrates) the store a database URL names: `sqlite:PATH` or `postgres://…`. */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  let store: Store;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    store = new SqliteStore({ path: file });
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('./postgres/pg-store.js');
    store = new PostgresStore({ connectionString: url });
  } else {
    throw new ValidationError('database', url, 'be sqlite:PATH or a postgres:// URL');
  }
  if (options.migrate !== false) await store.migrate();
  return store;
}
