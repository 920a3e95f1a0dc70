import type { PoolClient } from 'pg';

/** Advisory lock classes (first key of the two-int form), so Sluice's locks never collide
 * with each other's key spaces or with single-bigint locks other code may take. */
export const LOCK_CLASS = {
  migrate: 0x51_00,
  /** Per-pipeline concurrency caps, held by a claim transaction while it counts RUNNING rows. */
  pipelineCap: 0x51_01,
  /** Per upstream partition: orders "enqueue an item that waits on it" against "complete it". */
  upstream: 0x51_02,
} as const;

export type { Migration as PgMigration } from '../migration.js';

/**
 * PostgreSQL schema, as ordered migrations. The SQL is unqualified: the runner sets
 * `search_path` to the store's schema for the migration transaction, so one database can
 * hold several isolated Sluice schemas (tests use one per test).
 *
 * Mirrors `sqlite/schema.ts` with native types: bigserial ids, timestamptz instants,
 * jsonb documents, and CHECK constraints on states and attempt statuses.
 *
 * `work_items_ready` holds only ready rows (PENDING, RETRY_WAIT) in claim order
 * (priority DESC, desired_at, id), so neither claims nor "when is the next item due?" slow
 * down with the number of finished items. Far-future items do not slow them either: both
 * walk the index one priority level at a time, where `desired_at` is the leading key, so
 * `desired_at <= now` bounds each range scan (see `pg-store.ts`).
 */
export { PG_MIGRATIONS } from './migrations/index.js';
import { PG_MIGRATIONS } from './migrations/index.js';

export { quoteIdent } from './quote-ident.js';
import { quoteIdent } from './quote-ident.js';

/**
 * Applies pending migrations to `schema` in one transaction under a transaction-level
 * advisory lock, so several processes starting at once queue up instead of racing on
 * CREATE SCHEMA / CREATE TABLE; the ones that get the lock later find nothing to do.
 */
export async function migrate(client: PoolClient, schema: string): Promise<number> {
  const q = quoteIdent(schema, 'schema name');
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS.migrate}, hashtext($1::text))`, [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`SET LOCAL search_path TO ${q}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS sluice_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM sluice_migrations')).rows.map((r) => r.version));
    let applied = 0;
    for (const m of PG_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO sluice_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied++;
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
