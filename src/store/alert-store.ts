import type pg from 'pg';
import type { WorkState } from '../core/states.js';
import { PgAlertStore } from './postgres/alerts.js';
import { SqliteAlertStore } from './sqlite/alerts.js';
import type { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export const ALERT_EVENTS = ['failed', 'deadline_missed', 'schedule_missed', 'recovered'] as const;
export type AlertEventKind = (typeof ALERT_EVENTS)[number] | 'test';

/** One row of the outbox (migration 6). Written by triggers with the state change it reports,
 * by the deadline sweeper with its deadline row, or by `sluice alerts test`. */
export interface AlertEvent {
  id: number;
  event: AlertEventKind;
  domain: string | null;
  pipeline: string | null;
  partitionKey: string | null;
  itemId: number | null;
  schedule: string | null;
  error: string | null;
  at: Date;
}

export interface AlertDelivery {
  id: number;
  alert: string;
  state: 'pending' | 'delivered' | 'rejected';
  attempts: number;
  nextAt: Date;
  lastError: string | null;
  deliveredAt: Date | null;
  event: AlertEvent;
}

/** A partition's deadline once decided: met (COMPLETE at or before due_at) or missed. */
export interface DeadlineRecord {
  domain: string;
  pipeline: string;
  partitionKey: string;
  itemId: number | null;
  dueAt: Date;
  state: 'met' | 'missed';
  /** When it first became COMPLETE, if by the due instant. */
  metAt: Date | null;
  decidedAt: Date;
}

export type DeadlineDecision = Omit<DeadlineRecord, 'state' | 'decidedAt'>;

/** An item of one partition day, with its first completion (work_events), for the sweeper. */
export interface DayItem {
  id: number;
  partitionKey: string;
  state: WorkState;
  firstCompletedAt: Date | null;
}

/** One step of a pipeline's deadline sweeper, as `recordDeadlines` stores it. Named fields:
 * three of them are instants, easily passed in the wrong order positionally. */
export interface DeadlineSweep {
  /** domain.name */
  pipeline: string;
  /** The cursor the sweeper read (null: none yet); the step applies only if it is still there. */
  from: Date | null;
  /** Where the cursor moves to. */
  to: Date;
  decisions: readonly DeadlineDecision[];
  /** When the decisions were made (decided_at, and the time of deadline_missed events). */
  now: Date;
}

/**
 * Alerts outbox and partition deadlines, same contract on SQLite and PostgreSQL
 * (`test/store/alerts-conformance.test.ts`).
 */
export interface AlertStore {
  /** Events not yet fanned out to deliveries, oldest first. */
  unfannedEvents(limit: number): Promise<AlertEvent[]>;
  /** Inserts the deliveries (idempotent on event and alert) and marks the events fanned out,
   * in one transaction. */
  fanOut(eventIds: readonly number[], deliveries: readonly { eventId: number; alert: string }[], now: Date): Promise<void>;
  /** Per alert, its oldest pending delivery (so each alert's events go out in order), when due
   * and not claimed by another dispatcher; claimed until now + leaseMs. */
  claimDue(now: Date, leaseMs: number): Promise<AlertDelivery[]>;
  markDelivered(id: number, at: Date): Promise<void>;
  markRetry(id: number, nextAt: Date, error: string): Promise<void>;
  /** The receiver refused it for good (4xx): stop trying, keep the row and its error. */
  markRejected(id: number, error: string): Promise<void>;
  /** Newest first. */
  listDeliveries(limit: number): Promise<AlertDelivery[]>;
  countDeliveries(): Promise<{ alert: string; state: string; count: number }[]>;
  /** Deletes fanned-out events older than `before` with no pending delivery, and their
   * delivered or rejected deliveries (the outbox's retention). Returns events deleted. */
  pruneAlerts(before: Date): Promise<number>;
  /** false when an event with this dedupe key exists already. */
  insertEvent(e: Omit<AlertEvent, 'id'> & { dedupeKey: string }): Promise<boolean>;

  /** Where the sweeper of `pipeline` (domain.name) got to: deadlines up to it are decided. */
  deadlineCursor(pipeline: string): Promise<Date | null>;
  /** One transaction: moves the cursor from `from` (null: not yet created) to `to` and stores
   * the decisions; each missed row that is new gets its deadline_missed event. Returns
   * moved: false (and changes nothing) when another sweeper moved the cursor first. */
  recordDeadlines(sweep: DeadlineSweep): Promise<{ moved: boolean; missed: number }>;
  /** Items of a pipeline whose partition has `dayKey` = `day`. */
  itemsOfDay(domain: string, pipeline: string, dayKey: string, day: string): Promise<DayItem[]>;
  deadlinesFor(domain: string, pipeline: string, partitionKeys: readonly string[]): Promise<DeadlineRecord[]>;
  countDeadlines(): Promise<{ domain: string; pipeline: string; state: string; count: number }[]>;
  /** Item ids of a pipeline's partitions whose deadline was decided `state` (the grid's marks), at most `limit`. */
  deadlineItemIds(domain: string, pipeline: string, state: 'met' | 'missed', limit: number): Promise<number[]>;
}

const cache = new WeakMap<Store, AlertStore>();

/** The alert store on the same database (and connection/pool) as `store`. */
export function alertStoreFor(store: Store): AlertStore {
  const existing = cache.get(store);
  if (existing) return existing;
  let out: AlertStore;
  if (store.backend === 'sqlite') out = new SqliteAlertStore((store as SqliteStore).database);
  else {
    const pgStore = store as unknown as { pool?: pg.Pool; schema?: string };
    if (!pgStore.pool) throw new Error('alertStoreFor: this PostgreSQL store exposes no connection pool (`pool`)');
    out = new PgAlertStore(pgStore.pool, pgStore.schema ?? 'sluice');
  }
  cache.set(store, out);
  return out;
}
