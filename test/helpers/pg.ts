/**
 * PostgreSQL for tests: a real server, one isolated schema per call, dropped afterwards.
 *
 * - URL: `SLUICE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
 * - Reachability is probed once per test file (short connect timeout). When the server is
 *   unreachable the PostgreSQL suites are skipped, unless `SLUICE_REQUIRE_PG=1`, in which case
 *   they fail with a message naming the URL and the error (CI sets it, so a missing database
 *   can never turn into a silently green run).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/pg-store.js';

export const PG_URL = process.env.SLUICE_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const PG_REQUIRED = process.env.SLUICE_REQUIRE_PG === '1';

export interface PgStatus {
  available: boolean;
  /** Why it is unavailable. */
  reason?: string;
}

let probe: Promise<PgStatus> | undefined;

/** Whether the test server answers; probed once (2 s connect timeout), then cached. */
export function pgStatus(): Promise<PgStatus> {
  probe ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return { available: true };
    } catch (err) {
      return { available: false, reason: err instanceof Error ? err.message || err.name : String(err) };
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return probe;
}

export async function pgAvailable(): Promise<boolean> {
  return (await pgStatus()).available;
}

/** Resolved at import (top-level await), so suites can decide synchronously. */
export const PG: PgStatus = await pgStatus();

export function pgUnavailableMessage(): string {
  return `PostgreSQL is required (SLUICE_REQUIRE_PG=1) but ${redact(PG_URL)} is unreachable: ${PG.reason ?? 'unknown error'}`;
}

/**
 * Registers what a PostgreSQL suite becomes when the server is unreachable: a skipped suite,
 * or (with SLUICE_REQUIRE_PG=1) a failing test that says why. Does nothing when it is up.
 */
export function reportPgUnavailable(name: string): void {
  if (PG.available) return;
  if (PG_REQUIRED) {
    describe(name, () => {
      it('needs a reachable PostgreSQL', () => {
        throw new Error(pgUnavailableMessage());
      });
    });
  } else {
    describe.skip(`${name} (PostgreSQL unreachable at ${redact(PG_URL)}; set SLUICE_REQUIRE_PG=1 to fail instead)`, () => {
      it('skipped', () => undefined);
    });
  }
}

/** `describe` when PostgreSQL is reachable; otherwise see `reportPgUnavailable`. */
export function describeIfPg(name: string, fn: () => void): void {
  if (PG.available) describe(name, fn);
  else reportPgUnavailable(name);
}

/** One isolated schema on the test server; `open()` gives store instances on it. */
export interface PgTestSchema {
  readonly connectionString: string;
  readonly schema: string;
  /** A new (unmigrated) store on this schema; closed by `drop()`. */
  open(options?: Partial<Omit<PostgresStoreOptions, 'connectionString' | 'schema'>>): PostgresStore;
  /** Runs SQL on the test server outside any store (inspection, fault injection). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Closes every store opened here, then `DROP SCHEMA … CASCADE`. */
  drop(): Promise<void>;
}

export function createPgTestSchema(): PgTestSchema {
  const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
  const stores: PostgresStore[] = [];
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  admin.on('error', () => undefined);
  return {
    connectionString: PG_URL,
    schema,
    open(options = {}) {
      const store = new PostgresStore({ connectionString: PG_URL, schema, poolSize: 4, ...options });
      stores.push(store);
      return store;
    },
    query(sql, params) {
      return admin.query(sql, params);
    },
    async drop() {
      await Promise.allSettled(stores.splice(0).map((s) => s.close()));
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** A fresh, migrated store on its own schema. Call `drop()` when done. */
export async function freshPgStore(
  options?: Partial<Omit<PostgresStoreOptions, 'connectionString' | 'schema'>>,
): Promise<{ store: PostgresStore; db: PgTestSchema }> {
  const db = createPgTestSchema();
  const store = db.open(options);
  await store.migrate();
  return { store, db };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
