import type { WorkState } from '../core/states.js';
import type { Attempt, Backoff, WorkEvent, WorkItem } from '../core/work-item.js';
import type { ClaimedItem, RecentAttempt } from './store.js';
import type { TickRecord } from './schedule-store.js';

/**
 * Row → object mappers shared by both backends. The tables have the same columns on SQLite
 * and PostgreSQL; only how a value comes back differs (PostgreSQL: bigint ids as strings,
 * timestamptz as Date, jsonb parsed; SQLite: integer ids, epoch milliseconds, JSON text).
 * A backend names its representation (`Repr`) and gives a codec for it, so the mapping of
 * columns to fields is written once.
 */
export interface Repr {
  id: unknown;
  time: unknown;
  json: unknown;
}

export interface RowCodec<R extends Repr> {
  id(value: R['id']): number;
  time(value: R['time']): Date;
  json(value: R['json']): any;
}

export interface ItemRow<R extends Repr> {
  id: R['id'];
  domain: string;
  pipeline: string;
  partition_key: string;
  partition: R['json'];
  params: R['json'];
  state: WorkState;
  priority: number;
  desired_at: R['time'];
  attempts: number;
  total_attempts: number;
  max_attempts: number;
  backoff: R['json'];
  locked_by: string | null;
  lease_expires_at: R['time'] | null;
  current_attempt_id: R['id'] | null;
  last_error: string | null;
  created_at: R['time'];
  updated_at: R['time'];
  finished_at: R['time'] | null;
}

export interface AttemptRow<R extends Repr> {
  id: R['id'];
  item_id: R['id'];
  attempt_no: number;
  worker_id: string;
  status: Attempt['status'];
  started_at: R['time'];
  finished_at: R['time'] | null;
  error: string | null;
  output_tail: string | null;
  result: R['json'] | null;
}

export interface RecentAttemptRow<R extends Repr> extends AttemptRow<R> {
  domain: string;
  pipeline: string;
  partition_key: string;
  item_state: WorkState;
}

export interface EventRow<R extends Repr> {
  id: R['id'];
  item_id: R['id'];
  at: R['time'];
  event: string;
  from_state: WorkState | null;
  to_state: WorkState;
  actor: string | null;
  detail: string | null;
}

export interface TickRow<R extends Repr> {
  schedule: string;
  kind: TickRecord['kind'];
  scheduled_at: R['time'];
  outcome: TickRecord['outcome'];
  fired_at: R['time'] | null;
  detail: string | null;
  item_ids: R['json'];
  scheduler_id: string;
}

const orNull = <T, U>(value: T | null, f: (v: T) => U): U | null => (value === null ? null : f(value));

export function toItem<R extends Repr>(row: ItemRow<R>, c: RowCodec<R>): WorkItem {
  return {
    id: c.id(row.id),
    domain: row.domain,
    pipeline: row.pipeline,
    partition: c.json(row.partition),
    partitionKey: row.partition_key,
    params: c.json(row.params),
    state: row.state,
    priority: row.priority,
    desiredAt: c.time(row.desired_at),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    totalAttempts: row.total_attempts,
    backoff: c.json(row.backoff) as Backoff,
    lockedBy: row.locked_by,
    leaseExpiresAt: orNull(row.lease_expires_at, c.time),
    currentAttemptId: orNull(row.current_attempt_id, c.id),
    lastError: row.last_error,
    createdAt: c.time(row.created_at),
    updatedAt: c.time(row.updated_at),
    finishedAt: orNull(row.finished_at, c.time),
  };
}

/** A claim sets `current_attempt_id` to the new attempt and bumps `total_attempts` to its number.
 * The two fields are added to the mapped item rather than spread into a copy: a claim maps
 * hundreds of rows per statement, and the spread copy cost about as much as the mapping. */
export function toClaimed<R extends Repr>(row: ItemRow<R>, c: RowCodec<R>): ClaimedItem {
  const item = toItem(row, c) as ClaimedItem;
  item.attemptId = c.id(row.current_attempt_id as R['id']);
  item.attemptNo = row.total_attempts;
  return item;
}

export function toAttempt<R extends Repr>(row: AttemptRow<R>, c: RowCodec<R>): Attempt {
  return {
    id: c.id(row.id),
    itemId: c.id(row.item_id),
    attemptNo: row.attempt_no,
    workerId: row.worker_id,
    status: row.status,
    startedAt: c.time(row.started_at),
    finishedAt: orNull(row.finished_at, c.time),
    error: row.error,
    outputTail: row.output_tail,
    result: orNull(row.result, c.json),
  };
}

export function toRecentAttempt<R extends Repr>(row: RecentAttemptRow<R>, c: RowCodec<R>): RecentAttempt {
  return { ...toAttempt(row, c), domain: row.domain, pipeline: row.pipeline, partitionKey: row.partition_key, itemState: row.item_state };
}

export function toEvent<R extends Repr>(row: EventRow<R>, c: RowCodec<R>): WorkEvent {
  return {
    id: c.id(row.id),
    itemId: c.id(row.item_id),
    at: c.time(row.at),
    event: row.event,
    fromState: row.from_state,
    toState: row.to_state,
    actor: row.actor,
    detail: row.detail,
  };
}

export function toTick<R extends Repr>(row: TickRow<R>, c: RowCodec<R>): TickRecord {
  return {
    schedule: row.schedule,
    kind: row.kind,
    scheduledAt: c.time(row.scheduled_at),
    outcome: row.outcome,
    firedAt: orNull(row.fired_at, c.time),
    detail: row.detail,
    itemIds: c.json(row.item_ids),
    schedulerId: row.scheduler_id,
  };
}

/** PostgreSQL: bigint ids arrive as strings, timestamptz as Date, jsonb already parsed. */
export interface PgRepr extends Repr {
  id: string;
  time: Date;
  json: any;
}
export const PG_ROWS: RowCodec<PgRepr> = { id: Number, time: (v) => v, json: (v) => v };

/** SQLite: integer ids, epoch milliseconds, JSON as text. */
export interface SqliteRepr extends Repr {
  id: number;
  time: number;
  json: string;
}
export const SQLITE_ROWS: RowCodec<SqliteRepr> = { id: (v) => v, time: (v) => new Date(v), json: (v) => JSON.parse(v) };
