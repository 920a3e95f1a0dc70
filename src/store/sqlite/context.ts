import type { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import type { WorkState } from '../../core/states.js';
import type { SqliteStatements } from './statements.js';

/** A family's prepared statements by name (see `sqliteStatements`). Spelled through
 * better-sqlite3's exported `Database.Statement`: the type a bare `db.prepare()` infers lives
 * in a namespace the declaration emit (npm run build) cannot name. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a named alias is the point
export interface Prepared extends Database.Statement<unknown[]> {}

export function statementFamily<K extends string>(statements: Record<K, Prepared>): Record<K, Prepared> {
  return statements;
}

/**
 * What the operation modules (enqueue.ts, claim.ts, complete.ts, …) get of a SqliteStore:
 * the connection, its prepared statements, the in-process wake/cancel emitter and the event
 * log. They are free functions over this, so each family reads on its own, SQL next to code.
 */
export interface SqliteContext {
  readonly db: DB;
  readonly s: SqliteStatements;
  /** `wake` (work may be ready) and `cancel` (item id) for this process's workers. */
  readonly wake: EventEmitter;
  /** Appends to an item's event history; call inside the transaction that made the change. */
  event(itemId: number, now: number, event: string, from: WorkState | null, to: WorkState, actor: string | null, detail?: string | null): void;
}
