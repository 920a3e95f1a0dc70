import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SluiceError, ValidationError } from '../core/errors.js';
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
    try {
      store = new SqliteStore({ path: file });
    } catch (err) {
      throw explainOpenFailure(err, url);
    }
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('./postgres/pg-store.js');
    store = new PostgresStore(postgresOptions(url));
  } else {
    throw new ValidationError('database', url, 'be sqlite:PATH or a postgres:// URL');
  }
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw explainOpenFailure(err, url);
    }
  }
  return store;
}

/** The password of a URL, replaced, so an error message never shows it. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/**
 * A database that cannot be reached or opened at start is an expected failure: one line
 * naming the database (password hidden) and what to check, not the driver's stack.
 */
function explainOpenFailure(err: unknown, url: string): unknown {
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  const where = redactUrl(url);
  const network = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET'];
  if (network.includes(code)) {
    return new SluiceError(
      `cannot reach the database ${where} (${code}): check that PostgreSQL is running there, or set --db / SLUICE_DATABASE_URL / "database"`,
      'database_unreachable',
    );
  }
  // PostgreSQL: 28xxx authentication, 3D000 unknown database, 57P03 starting up.
  if (/^(28|3D000|57P0)/.test(code)) {
    return new SluiceError(`cannot open the database ${where}: ${e?.message ?? code} (${code}); check the URL, user and database name`, 'database_unavailable');
  }
  // SQLite: read-only file or directory, disk full, not a database, cannot open.
  if (/^SQLITE_(READONLY|CANTOPEN|FULL|NOTADB|CORRUPT|IOERR|PERM)/.test(code)) {
    return new SluiceError(
      `cannot open the database ${where}: ${e?.message ?? code} (${code}); check the file's path, permissions and free disk space`,
      'database_unavailable',
    );
  }
  return err;
}
