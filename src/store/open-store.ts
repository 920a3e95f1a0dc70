import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * `postgres://…?schema=NAME` puts Sluice's tables in schema NAME (default `sluice`), so
 * several Sluice deployments (or test runs) can share one database. The parameter is
 * Sluice's, so it is taken off before the URL reaches the driver.
 */
export function postgresOptions(url: string): { connectionString: string; schema?: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? process.env.SLUICE_PG_SCHEMA ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/** Opens (and migrates) the store a database URL names: `sqlite:PATH` or `postgres://…`. */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  let store: Store;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    store = new SqliteStore({ path: file });
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('./postgres/pg-store.js');
    store = new PostgresStore(postgresOptions(url));
  } else {
    throw new ValidationError('database', url, 'be sqlite:PATH or a postgres:// URL');
  }
  if (options.migrate !== false) await store.migrate();
  return store;
}
