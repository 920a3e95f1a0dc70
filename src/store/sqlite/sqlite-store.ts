import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import type { DataConnection, Store } from '../store.js';
import type { ScheduleStore } from '../schedule-store.js';
import { bindOperations, joinFamilies, type BoundOperations, type Operations } from '../operations.js';
import * as enqueue from './enqueue.js';
import * as claim from './claim.js';
import * as leases from './leases.js';
import * as complete from './complete.js';
import * as fail from './fail.js';
import * as commands from './commands.js';
import * as queries from './queries.js';
import * as grid from './grid.js';
import * as dependencies from './dependencies.js';
import * as maintenance from './maintenance.js';
import * as schedules from './schedules.js';
import * as fireTicks from './fire-ticks.js';
import type { SqliteContext } from './context.js';
import { sqliteStatements, type SqliteStatements } from './statements.js';

/**
 * The newest migration's version: migrations/index.ts lists versions 1…this, contiguous
 * (test/store/sqlite-migrations.test.ts holds the two together). A database that already has
 * every one of them skips loading the migrations' SQL.
 */
export const SQLITE_SCHEMA_VERSION = 7;

/**
 * better-sqlite3's own addon, named to it directly: without `nativeBinding` it finds the file
 * through the `bindings` package, which probes a dozen build paths (and parses a stack
 * trace) on every start. Where the usual build is missing, better-sqlite3 searches as before.
 */
const NATIVE_BINDING = ((): string | undefined => {
  try {
    const file = createRequire(import.meta.url)
      .resolve('better-sqlite3/package.json')
      .replace(/package\.json$/, 'build/Release/better_sqlite3.node');
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
})();

export interface SqliteStoreOptions {
  /** File path, or `:memory:` (single process only). */
  path: string;
  /** How long a writer waits for the file lock held by another process. */
  busyTimeoutMs?: number;
}

/** This backend's operation families; `joinFamilies` makes them the table `bindOperations` takes the store methods from. */
const FAMILIES = [enqueue, claim, leases, complete, fail, commands, queries, grid, dependencies, maintenance, schedules, fireTicks] as const;
const OPERATIONS: Operations<SqliteContext> = joinFamilies(...FAMILIES);

// The bound operations become this class's methods (see ../operations.ts).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface SqliteStore extends BoundOperations {}

/**
 * Embedded store on one SQLite file in WAL mode. Several processes may share the file:
 * every state change runs in a `BEGIN IMMEDIATE` transaction, so claims are serialized by
 * SQLite's write lock and no two workers can take the same item. Calls are synchronous
 * underneath (better-sqlite3); they are wrapped in promises only to honour the Store
 * interface shared with PostgreSQL.
 */

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SqliteStore implements Store, ScheduleStore {
  readonly backend = 'sqlite' as const;
  /** One writer per database file: batches queue on its lock, so bulk writers go one at a time. */
  readonly concurrentWriters = 1;
  private readonly db: DB;
  private readonly wake = new EventEmitter();
  private prepared: SqliteStatements | undefined;
  /** What the operation modules (enqueue.ts, claim.ts, …) get of this store. */
  private readonly ctx: SqliteContext;

  constructor(readonly options: SqliteStoreOptions) {
    this.db = new Database(options.path, { nativeBinding: NATIVE_BINDING });
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across process crashes (only an OS crash can lose the
    // last transactions), which is the failure model of a worker being SIGKILLed.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 10_000)}`);
    this.db.pragma('foreign_keys = ON');
    // 64 MiB of page cache (default 2 MiB): a large enqueue updates five B-trees (items, its
    // indexes, the grid summary) in key orders that differ, and with the default cache most
    // of those page visits miss.
    this.db.pragma('cache_size = -65536');
    this.wake.setMaxListeners(0);
    const statements = (): SqliteStatements => this.s;
    this.ctx = {
      db: this.db,
      wake: this.wake,
      // Prepared on first use: the tables exist only once migrate() has run.
      get s() {
        return statements();
      },
      event: (itemId, now, event, from, to, actor, detail = null) => {
        statements().insertEvent.run(itemId, now, event, from, to, actor, detail);
      },
    };
    Object.assign(this, bindOperations(this.ctx, OPERATIONS));
  }

  /** Direct handle for the data layer (staging, MERGE, manifest) on the same file. */
  get database(): DB {
    return this.db;
  }

  dataConnection(): DataConnection {
    return { backend: 'sqlite', database: this.db };
  }

  private get s(): SqliteStatements {
    if (!this.prepared) this.prepared = sqliteStatements(this.db);
    return this.prepared;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    // Versions are contiguous from 1, so "every version up to the newest applied" is a count;
    // only a database that is behind loads the migrations' SQL (eight modules on each start).
    const applied = this.db.prepare('SELECT count(*) FROM sluice_migrations WHERE version BETWEEN 1 AND ?').pluck().get(SQLITE_SCHEMA_VERSION);
    if (applied === SQLITE_SCHEMA_VERSION) return;
    const { SQLITE_MIGRATIONS } = await import('./migrations/index.js');
    const apply = this.db.transaction(() => {
      const done = new Set(this.db.prepare('SELECT version FROM sluice_migrations').pluck().all() as number[]);
      for (const m of SQLITE_MIGRATIONS) {
        if (done.has(m.version)) continue;
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO sluice_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }
    });
    apply.immediate();
  }

  async schemaVersion(): Promise<number> {
    return (this.db.prepare('SELECT coalesce(max(version), 0) FROM sluice_migrations').pluck().get() as number) ?? 0;
  }

  async close(): Promise<void> {
    this.wake.removeAllListeners();
    if (this.db.open) this.db.close();
  }

  onWake(listener: () => void): () => void {
    this.wake.on('wake', listener);
    return () => this.wake.off('wake', listener);
  }

  /** In-process notification that an item was cancelled, so a local worker aborts at once. */
  onCancel(listener: (itemId: number) => void): () => void {
    this.wake.on('cancel', listener);
    return () => this.wake.off('cancel', listener);
  }
}
