import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import type { Attempt, WorkEvent, WorkItem } from '../../core/work-item.js';
import type {
  ClaimRequest,
  ClaimedItem,
  CommandOutcome,
  CompletionReport,
  DependencyStatus,
  EnqueueOutcome,
  EnqueueSpec,
  FailureReport,
  ListFilter,
  PartitionState,
  PartitionStatesOptions,
  RecentAttempt,
  RecentAttemptsFilter,
  RetryFilter,
  StateCount,
  Store,
} from '../store.js';
import type { ScheduleStore, TickRecord } from '../schedule-store.js';
import type { SqliteContext } from './context.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { sqliteStatements, type SqliteStatements } from './statements.js';
import * as enqueueOps from './enqueue.js';
import * as claimOps from './claim.js';
import * as leasesOps from './leases.js';
import * as completeOps from './complete.js';
import * as failOps from './fail.js';
import * as commandsOps from './commands.js';
import * as queriesOps from './queries.js';
import * as dependenciesOps from './dependencies.js';
import * as maintenanceOps from './maintenance.js';
import * as schedulesOps from './schedules.js';

export interface SqliteStoreOptions {
  /** File path, or `:memory:` (single process only). */
  path: string;
  /** How long a writer waits for the file lock held by another process. */
  busyTimeoutMs?: number;
}

/**
 * Embedded store on one SQLite file in WAL mode. Several processes may share the file:
 * every state change runs in a `BEGIN IMMEDIATE` transaction, so claims are serialized by
 * SQLite's write lock and no two workers can take the same item. Calls are synchronous
 * underneath (better-sqlite3); they are wrapped in promises only to honour the Store
 * interface shared with PostgreSQL.
 */
export class SqliteStore implements Store, ScheduleStore {
  readonly backend = 'sqlite' as const;
  private readonly db: DB;
  private readonly wake = new EventEmitter();
  private prepared: SqliteStatements | undefined;
  /** What the operation modules (enqueue.ts, claim.ts, …) get of this store. */
  private readonly ctx: SqliteContext;

  constructor(readonly options: SqliteStoreOptions) {
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across process crashes (only an OS crash can lose the
    // last transactions), which is the failure model of a worker being SIGKILLed.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 10_000)}`);
    this.db.pragma('foreign_keys = ON');
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
  }

  /** Direct handle for the data layer (staging, MERGE, manifest) on the same file. */
  get database(): DB {
    return this.db;
  }

  private get s(): SqliteStatements {
    if (!this.prepared) this.prepared = sqliteStatements(this.db);
    return this.prepared;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
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

  async enqueue(specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
    return enqueueOps.enqueue(this.ctx, specs);
  }

  async claim(request: ClaimRequest): Promise<ClaimedItem[]> {
    return claimOps.claim(this.ctx, request);
  }

  async claimItem(itemId: number, workerId: string, leaseMs: number): Promise<ClaimedItem | null> {
    return claimOps.claimItem(this.ctx, itemId, workerId, leaseMs);
  }

  async heartbeat(workerId: string, itemIds: readonly number[], leaseMs: number): Promise<number[]> {
    return leasesOps.heartbeat(this.ctx, workerId, itemIds, leaseMs);
  }

  async complete(reports: readonly CompletionReport[]): Promise<boolean[]> {
    return completeOps.complete(this.ctx, reports);
  }

  async fail(report: FailureReport): Promise<WorkItem | null> {
    return failOps.fail(this.ctx, report);
  }

  async release(report: CompletionReport & { reason: string }): Promise<boolean> {
    return failOps.release(this.ctx, report);
  }

  async reclaimExpired(at?: Date): Promise<number> {
    return leasesOps.reclaimExpired(this.ctx, at);
  }

  async cancel(itemId: number, actor: string | null = null): Promise<CommandOutcome> {
    return commandsOps.cancel(this.ctx, itemId, actor);
  }

  async retry(filter: RetryFilter, actor: string | null = null): Promise<WorkItem[]> {
    return commandsOps.retry(this.ctx, filter, actor);
  }

  async rerun(itemId: number, actor: string | null = null): Promise<CommandOutcome> {
    return commandsOps.rerun(this.ctx, itemId, actor);
  }

  async getItem(itemId: number): Promise<WorkItem | null> {
    return queriesOps.getItem(this.ctx, itemId);
  }

  async findItem(domain: string, pipeline: string, key: string): Promise<WorkItem | null> {
    return queriesOps.findItem(this.ctx, domain, pipeline, key);
  }

  async listItems(filter: ListFilter = {}): Promise<WorkItem[]> {
    return queriesOps.listItems(this.ctx, filter);
  }

  async countItems(filter: ListFilter = {}): Promise<number> {
    return queriesOps.countItems(this.ctx, filter);
  }

  async countByState(): Promise<StateCount[]> {
    return queriesOps.countByState(this.ctx);
  }

  async listAttempts(itemId: number): Promise<Attempt[]> {
    return queriesOps.listAttempts(this.ctx, itemId);
  }

  async partitionStates(domain: string, pipeline: string, opts: PartitionStatesOptions = {}): Promise<PartitionState[]> {
    return queriesOps.partitionStates(this.ctx, domain, pipeline, opts);
  }

  async countPartitions(domain: string, pipeline: string): Promise<number> {
    return queriesOps.countPartitions(this.ctx, domain, pipeline);
  }

  async listRecentAttempts(filter: RecentAttemptsFilter): Promise<RecentAttempt[]> {
    return queriesOps.listRecentAttempts(this.ctx, filter);
  }

  async listEvents(itemId: number): Promise<WorkEvent[]> {
    return queriesOps.listEvents(this.ctx, itemId);
  }

  async listDependencies(itemId: number): Promise<DependencyStatus[]> {
    return dependenciesOps.listDependencies(this.ctx, itemId);
  }

  async countOutstanding(pipelines?: readonly string[]): Promise<number> {
    return dependenciesOps.countOutstanding(this.ctx, pipelines);
  }

  async countFailedSince(since: Date): Promise<number> {
    return queriesOps.countFailedSince(this.ctx, since);
  }

  async nextDesiredAt(pipelines?: readonly string[]): Promise<Date | null> {
    return queriesOps.nextDesiredAt(this.ctx, pipelines);
  }

  async pruneFinished(before: Date): Promise<number> {
    return maintenanceOps.pruneFinished(this.ctx, before);
  }

  async maintain(): Promise<void> {
    return maintenanceOps.maintain(this.ctx);
  }

  async fireTick(tick: Omit<TickRecord, 'itemIds' | 'firedAt'>, specs: readonly EnqueueSpec[]): Promise<{ recorded: boolean; outcomes: EnqueueOutcome[] }> {
    return schedulesOps.fireTick(this.ctx, tick, specs);
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    return schedulesOps.listTicks(this.ctx, schedule, limit);
  }

  async lastTickAt(schedule: string): Promise<Date | null> {
    return schedulesOps.lastTickAt(this.ctx, schedule);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return leasesOps.acquireLease(this.ctx, name, holder, ttlMs);
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    return leasesOps.releaseLease(this.ctx, name, holder);
  }

  async leaseHolder(name: string): Promise<{ holder: string; expiresAt: Date } | null> {
    return leasesOps.leaseHolder(this.ctx, name);
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
