import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
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
import type { PgContext } from './context.js';
import { PgListener } from './listener.js';
import { migrate as runMigrations, quoteIdent } from './migrations.js';
import { pgStatements, type PgStatements, type StatementName } from './statements.js';
import { withClient, withTransaction } from './transaction.js';

export { pgStatements, type PgStatements } from './statements.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema holding Sluice's tables; created by `migrate()`. Default `sluice`. */
  schema?: string;
  /** Maximum pooled connections (the LISTEN connection is extra). Default 10. */
  poolSize?: number;
}

/** NOTIFY channel for a schema; long schema names are hashed to fit the 63-byte limit. */
function channelName(prefix: string, schema: string): string {
  const name = `${prefix}_${schema}`;
  return name.length <= 63 ? name : `${prefix}_${createHash('sha1').update(schema).digest('hex').slice(0, 24)}`;
}

/**
 * Statements over arrays of ids sent unnamed, so each run is planned for its own sizes. As
 * prepared statements PostgreSQL switched them to a generic plan after five runs, one that
 * assumes a few rows per array: a 1,000-item completion then took 320 ms instead of 30 ms
 * (nested loops over what should be hash joins). Planning costs ~1 ms per batch.
 */
const BATCH_STATEMENTS: ReadonlySet<string> = new Set([
  'claimFast',
  'claimCapped',
  'complete',
  'lockDependents',
  'promote',
  'heartbeat',
  'enqueue',
  'enqueueDependent',
  'findMany',
  'triplesOf',
]);

/** This backend's operation families; `joinFamilies` makes them the table `bindOperations` takes the store methods from. */
const FAMILIES = [enqueue, claim, leases, complete, fail, commands, queries, grid, dependencies, maintenance, schedules, fireTicks] as const;
const OPERATIONS: Operations<PgContext> = joinFamilies(...FAMILIES);

// The bound operations become this class's methods (see ../operations.ts).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface PostgresStore extends BoundOperations {}

/**
 * Scale-out store on PostgreSQL. Many worker processes on many hosts share one database:
 * claims take rows with `FOR UPDATE SKIP LOCKED` (no two workers get the same item, none
 * waits on another), per-pipeline concurrency caps are enforced under advisory locks, and
 * LISTEN/NOTIFY wakes idle workers in other processes as soon as work arrives.
 *
 * Every state change is one statement (or one short transaction) built from the transition
 * table in `core/states.ts`; semantics match `SqliteStore` exactly, and
 * `test/store/conformance.test.ts` runs the same suite against both. Where SQLite gets
 * serializability for free from its single writer, this store orders the races that matter
 * with locks: per-pipeline advisory locks for concurrency caps, per-upstream advisory locks
 * between "enqueue an item that waits on X" and "complete X", and row locks on WAITING
 * dependents so two upstreams completing at once cannot both miss the promotion.
 *
 * Also the scheduler's store (`ScheduleStore`): ticks unique on (schedule, kind,
 * scheduled_at), enqueued in the same transaction, and leases on the database clock.
 */

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PostgresStore implements Store, ScheduleStore {
  readonly backend = 'postgres' as const;
  /** The pool size: each pooled connection is a server backend of its own (see Store). */
  readonly concurrentWriters: number;
  readonly schema: string;
  private readonly q: string;
  private readonly sql: PgStatements;
  private readonly prepared = new Map<string, pg.QueryConfig>();
  private readonly pgPool: pg.Pool;
  private readonly emitter = new EventEmitter();
  private readonly wakeChannel: string;
  private readonly cancelChannel: string;
  /** Tags this instance's NOTIFYs so its own listener skips them (they were emitted locally). */
  private readonly instanceId = randomUUID();
  private listener: PgListener | null = null;
  private closed = false;
  /** What the operation modules (enqueue.ts, claim.ts, …) get of this store. */
  private readonly ctx: PgContext;

  constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'sluice';
    this.q = quoteIdent(this.schema, 'schema name');
    this.sql = pgStatements(this.schema);
    this.wakeChannel = channelName('sluice_wake', this.schema);
    this.cancelChannel = channelName('sluice_cancel', this.schema);
    this.concurrentWriters = options.poolSize ?? 10;
    this.pgPool = new pg.Pool({
      connectionString: options.connectionString,
      max: this.concurrentWriters,
      application_name: `sluice:${this.schema}`,
    });
    // An idle pooled connection that dies (server restart) is discarded; the next query
    // opens a new one. Without a handler the error would crash the process.
    this.pgPool.on('error', () => undefined);
    this.emitter.setMaxListeners(0);
    this.ctx = {
      pool: this.pgPool,
      sql: this.sql,
      wakeChannel: this.wakeChannel,
      cancelChannel: this.cancelChannel,
      instanceId: this.instanceId,
      stmt: (name) => this.stmt(name),
      tx: (fn, begin) => this.tx(fn, begin),
      wakePayload: () => this.wakePayload(),
      emitWake: () => this.emitWake(),
      emitCancel: (itemId) => this.emitter.emit('cancel', itemId),
    };
    Object.assign(this, bindOperations(this.ctx, OPERATIONS));
  }

  /** The connection the data layer (staging, MERGE, manifest) uses: the store's own database. */
  dataConnection(): DataConnection {
    return { backend: 'postgres', pool: this.pgPool, schema: this.schema };
  }

  /** The connection pool, for the data layer (staging, MERGE, manifest) on the same database. */
  get pool(): pg.Pool {
    return this.pgPool;
  }

  async migrate(): Promise<void> {
    await withClient(this.pgPool, (client) => runMigrations(client, this.schema));
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.pgPool.query<{ exists: string | null }>(`SELECT to_regclass($1) AS exists`, [`${this.q}.sluice_migrations`]);
    if (!rows[0]?.exists) return 0;
    const r = await this.pgPool.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${this.q}.sluice_migrations`);
    return r.rows[0]?.v ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emitter.removeAllListeners();
    const listener = this.listener;
    this.listener = null;
    await listener?.close();
    await this.pgPool.end();
  }

  /** Runs `fn` in a transaction on one pooled connection. */
  private tx<T>(fn: (client: pg.PoolClient) => Promise<T>, begin?: string): Promise<T> {
    return withTransaction(this.pgPool, fn, begin);
  }

  /** Hot statements are named, so each pooled connection parses and plans them once; batch
   * statements are not (see BATCH_STATEMENTS). */
  private stmt(name: StatementName): pg.QueryConfig {
    let config = this.prepared.get(name);
    if (!config) {
      config = BATCH_STATEMENTS.has(name) ? { text: this.sql[name] } : { name: `sluice_${name}`, text: this.sql[name] };
      this.prepared.set(name, config);
    }
    return config;
  }

  private wakePayload(): string {
    return this.instanceId;
  }

  private emitWake(): void {
    this.emitter.emit('wake');
  }

  onWake(listener: () => void): () => void {
    this.emitter.on('wake', listener);
    this.ensureListener();
    return () => this.emitter.off('wake', listener);
  }

  onCancel(listener: (itemId: number) => void): () => void {
    this.emitter.on('cancel', listener);
    this.ensureListener();
    return () => this.emitter.off('cancel', listener);
  }

  /** Resolves once this store's LISTEN connection is up (starting it if needed). Lets
   * callers (and tests) be sure a NOTIFY sent from now on will be seen. */
  listenerReady(): Promise<void> {
    return this.ensureListener()?.ready() ?? Promise.resolve();
  }

  private ensureListener(): PgListener | null {
    if (this.closed) return null;
    if (!this.listener) {
      this.listener = new PgListener({
        connectionString: this.options.connectionString,
        channels: [this.wakeChannel, this.cancelChannel],
        applicationName: `sluice-listener:${this.schema}`,
        onNotification: (channel, payload) => this.onNotification(channel, payload),
        // Notifications sent while the connection was down are lost: assume work arrived.
        onRecovered: () => this.emitWake(),
      });
      this.listener.start();
    }
    return this.listener;
  }

  private onNotification(channel: string, payload: string): void {
    if (channel === this.wakeChannel) {
      if (payload !== this.instanceId) this.emitWake();
    } else if (channel === this.cancelChannel) {
      const sep = payload.indexOf(':');
      const id = Number(sep < 0 ? payload : payload.slice(0, sep));
      const from = sep < 0 ? '' : payload.slice(sep + 1);
      if (from !== this.instanceId && Number.isFinite(id)) this.emitter.emit('cancel', id);
    }
  }
}
