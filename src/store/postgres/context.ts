import type pg from 'pg';
import type { PgStatements, StatementName } from './statements.js';

/**
 * What the operation modules (enqueue.ts, claim.ts, complete.ts, …) get of a PostgresStore:
 * the pool, the statements, and the store's wake-up and cancel signals. They are free
 * functions over this, so each family of operations reads on its own, SQL next to code.
 */
export interface PgContext {
  readonly pool: pg.Pool;
  readonly sql: PgStatements;
  /** NOTIFY channels of this schema, and the tag that makes this instance skip its own. */
  readonly wakeChannel: string;
  readonly cancelChannel: string;
  readonly instanceId: string;
  /** A statement's query config: named (prepared per connection) unless it is a batch statement. */
  stmt(name: StatementName): pg.QueryConfig;
  /** Runs `fn` in a transaction on one pooled connection. */
  /** `begin` may carry SET LOCAL statements after BEGIN, sent in the same round trip. */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>, begin?: string): Promise<T>;
  wakePayload(): string;
  /** Wakes this process's idle workers (other processes hear the NOTIFY). */
  emitWake(): void;
  emitCancel(itemId: number): void;
}

/** A pool or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>>;
}
