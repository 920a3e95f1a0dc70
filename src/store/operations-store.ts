import type pg from 'pg';
import type { WorkState } from '../core/states.js';
import { PgOperationsStore } from './postgres/operations-store.js';
import { SqliteOperationsStore } from './sqlite/operations-store.js';
import type { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export type BackfillStatus = 'enqueuing' | 'enqueued' | 'cancelled' | 'failed';
export type BackfillReprocess = 'missing' | 'failed' | 'all';

/** A backfill as stored: the request it was made from and how far its enqueue got. How far it
 * has *run* is not stored; it is counted from its linked work items (`backfillCounts`). */
export interface BackfillRecord {
  id: number;
  pipeline: string;
  request: Record<string, unknown>;
  priority: number;
  reprocess: BackfillReprocess;
  downstream: boolean;
  status: BackfillStatus;
  /** Partitions of the named pipeline enqueued so far (the downstream is counted apart). */
  partitions: number;
  error: string | null;
  createdAt: Date;
  enqueuedAt: Date | null;
  cancelledAt: Date | null;
}

export interface BackfillCounts {
  /** Items of the named pipeline, by state. */
  requested: Partial<Record<WorkState, number>>;
  /** Auto-downstream items the backfill brought in, by state. */
  downstream: Partial<Record<WorkState, number>>;
  /** When the linked items finished, first and last (for the rate). */
  firstFinishedAt: Date | null;
  lastFinishedAt: Date | null;
}

export interface ScheduleControl {
  schedule: string;
  paused: boolean;
  updatedAt: Date;
  actor: string | null;
}

export interface ScheduleEvent {
  id: number;
  schedule: string;
  at: Date;
  event: string;
  actor: string | null;
  detail: string | null;
}

/**
 * Operator objects beside the queue: backfills (with the items they brought in) and the
 * schedule pause flag with its event log. Same contract on SQLite and PostgreSQL.
 */
export interface OperationsStore {
  createBackfill(b: {
    pipeline: string;
    request: Record<string, unknown>;
    priority: number;
    reprocess: BackfillReprocess;
    downstream: boolean;
  }): Promise<BackfillRecord>;
  /** Links items to a backfill (idempotent) and adds `partitions` to its partition count. */
  linkBackfillItems(id: number, links: readonly { itemId: number; downstream: boolean }[], partitions: number): Promise<void>;
  /** Ends the enqueue phase; a cancelled backfill stays cancelled. */
  finishBackfillEnqueue(id: number, outcome: { status: 'enqueued' | 'failed'; error?: string | null }): Promise<BackfillRecord>;
  getBackfill(id: number): Promise<BackfillRecord | null>;
  /** Newest first. */
  listBackfills(limit: number, offset: number): Promise<{ rows: BackfillRecord[]; total: number }>;
  backfillCounts(id: number): Promise<BackfillCounts>;
  /** Linked items still WAITING, PENDING, RETRY_WAIT or RUNNING (what a cancel must stop). */
  outstandingBackfillItems(id: number): Promise<number[]>;
  markBackfillCancelled(id: number): Promise<BackfillRecord>;

  /** Exact number of attempts matching the filter (the runs list's paging total). */
  countAttempts(filter: { domain?: string; pipeline?: string; status?: string }): Promise<number>;

  setSchedulePaused(schedule: string, paused: boolean, actor: string | null, detail?: string | null): Promise<ScheduleControl>;
  scheduleControls(): Promise<ScheduleControl[]>;
  recordScheduleEvent(schedule: string, event: string, actor: string | null, detail: string | null): Promise<void>;
  /** Newest first. */
  listScheduleEvents(schedule: string, limit: number): Promise<ScheduleEvent[]>;
}

const cache = new WeakMap<Store, OperationsStore>();

/** The operations store on the same database (and connection/pool) as `store`. */
export function operationsStoreFor(store: Store): OperationsStore {
  const existing = cache.get(store);
  if (existing) return existing;
  let ops: OperationsStore;
  if (store.backend === 'sqlite') ops = new SqliteOperationsStore((store as SqliteStore).database);
  else {
    const pgStore = store as unknown as { pool?: pg.Pool; schema?: string };
    if (!pgStore.pool) throw new Error('operationsStoreFor: this PostgreSQL store exposes no connection pool (`pool`)');
    ops = new PgOperationsStore(pgStore.pool, pgStore.schema ?? 'sluice');
  }
  cache.set(store, ops);
  return ops;
}
