import type { Database as DB } from 'better-sqlite3';
import type { WorkState } from '../../core/states.js';
import type { Attempt, WorkEvent, WorkItem } from '../../core/work-item.js';
import { FROM } from '../sql-fragments.js';
import type { ListFilter, PartitionState, PartitionStatesOptions, RecentAttempt, RecentAttemptsFilter, StateCount } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { toItem, toAttempt, toEvent, toRecentAttempt, type ItemRow, type AttemptRow, type EventRow, type RecentAttemptRow } from './rows.js';

/** Reads: items, attempts, events, partitions, counts; and the event log every change writes to. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function queriesStatements(db: DB) {
  return statementFamily({
    findItem: db.prepare('SELECT * FROM work_items WHERE domain = ? AND pipeline = ? AND partition_key = ?'),
    getItem: db.prepare('SELECT * FROM work_items WHERE id = ?'),
    insertEvent: db.prepare('INSERT INTO work_events (item_id, at, event, from_state, to_state, actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    attemptsOf: db.prepare('SELECT * FROM attempts WHERE item_id = ? ORDER BY attempt_no'),
    eventsOf: db.prepare('SELECT * FROM work_events WHERE item_id = ? ORDER BY id'),
    countByState: db.prepare('SELECT domain, pipeline, state, count(*) AS count FROM work_items GROUP BY domain, pipeline, state'),
    // Off the (domain, pipeline, partition_key) unique index, in its order. LIMIT -1 = all.
    partitionStates: db.prepare(`
      SELECT partition_key, partition, state, id, updated_at FROM work_items
      WHERE domain = ? AND pipeline = ? ORDER BY partition_key LIMIT ? OFFSET ?`),
    partitionStatesAfter: db.prepare(`
      SELECT partition_key, partition, state, id, updated_at FROM work_items
      WHERE domain = ? AND pipeline = ? AND partition_key > ? ORDER BY partition_key LIMIT ? OFFSET ?`),
    countPartitions: db.prepare('SELECT count(*) FROM work_items WHERE domain = ? AND pipeline = ?'),
    // Newest first off attempts_started (started_at, rowid); filters are checked per row,
    // so the walk stops as soon as LIMIT rows matched.
    recentAttempts: db.prepare(`
      SELECT a.*, w.domain, w.pipeline, w.partition_key, w.state AS item_state
      FROM attempts a
      JOIN work_items w ON w.id = a.item_id
      WHERE (@domain IS NULL OR w.domain = @domain) AND (@pipeline IS NULL OR w.pipeline = @pipeline)
        AND (@status IS NULL OR a.status = @status)
      ORDER BY a.started_at DESC, a.id DESC
      LIMIT @limit OFFSET @offset`),
    failedSince: db.prepare(`SELECT count(*) FROM work_items WHERE state = 'FAILED' AND finished_at >= ?`),
    firstDueAt: db.prepare(`
      SELECT desired_at FROM work_items INDEXED BY work_items_ready
      WHERE state IN (${FROM('claim')}) AND priority = @priority
        AND (@only IS NULL OR domain || '.' || pipeline IN (SELECT value FROM json_each(@only)))
      ORDER BY desired_at LIMIT 1`),
  });
}

export async function getItem(ctx: SqliteContext, itemId: number): Promise<WorkItem | null> {
  const row = ctx.s.getItem.get(itemId) as ItemRow | undefined;
  return row ? toItem(row) : null;
}

export async function findItem(ctx: SqliteContext, domain: string, pipeline: string, key: string): Promise<WorkItem | null> {
  const row = ctx.s.findItem.get(domain, pipeline, key) as ItemRow | undefined;
  return row ? toItem(row) : null;
}

function where(filter: ListFilter): { sql: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.state !== undefined) {
    const states = typeof filter.state === 'string' ? [filter.state] : filter.state;
    clauses.push('state IN (SELECT value FROM json_each(@states))');
    params.states = JSON.stringify(states);
  }
  if (filter.domain !== undefined) {
    clauses.push('domain = @domain');
    params.domain = filter.domain;
  }
  if (filter.pipeline !== undefined) {
    clauses.push('pipeline = @pipeline');
    params.pipeline = filter.pipeline;
  }
  if (filter.partitionKey !== undefined) {
    clauses.push('partition_key = @partition_key');
    params.partition_key = filter.partitionKey;
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export async function listItems(ctx: SqliteContext, filter: ListFilter = {}): Promise<WorkItem[]> {
  const { sql, params } = where(filter);
  const order = filter.order === 'oldest' ? 'ASC' : 'DESC';
  const rows = ctx.db
    .prepare(`SELECT * FROM work_items ${sql} ORDER BY id ${order} LIMIT @limit OFFSET @offset`)
    .all({ ...params, limit: filter.limit ?? 1000, offset: filter.offset ?? 0 }) as ItemRow[];
  return rows.map(toItem);
}

export async function countItems(ctx: SqliteContext, filter: ListFilter = {}): Promise<number> {
  const { sql, params } = where(filter);
  return ctx.db.prepare(`SELECT count(*) FROM work_items ${sql}`).pluck().get(params) as number;
}

export async function countByState(ctx: SqliteContext): Promise<StateCount[]> {
  return ctx.s.countByState.all() as StateCount[];
}

export async function listAttempts(ctx: SqliteContext, itemId: number): Promise<Attempt[]> {
  return (ctx.s.attemptsOf.all(itemId) as AttemptRow[]).map(toAttempt);
}

export async function partitionStates(ctx: SqliteContext, domain: string, pipeline: string, opts: PartitionStatesOptions = {}): Promise<PartitionState[]> {
  const rows = (
    opts.after === undefined
      ? ctx.s.partitionStates.raw().all(domain, pipeline, opts.limit ?? -1, opts.offset ?? 0)
      : ctx.s.partitionStatesAfter.raw().all(domain, pipeline, opts.after, opts.limit ?? -1, opts.offset ?? 0)
  ) as [string, string, WorkState, number, number][];
  const out: PartitionState[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [partitionKey, partition, state, itemId, updatedAt] = rows[i]!;
    out[i] = { partitionKey, partition: JSON.parse(partition), state, itemId, updatedAt: new Date(updatedAt) };
  }
  return out;
}

export async function countPartitions(ctx: SqliteContext, domain: string, pipeline: string): Promise<number> {
  return ctx.s.countPartitions.pluck().get(domain, pipeline) as number;
}

export async function listRecentAttempts(ctx: SqliteContext, filter: RecentAttemptsFilter): Promise<RecentAttempt[]> {
  const rows = ctx.s.recentAttempts.all({
    domain: filter.domain ?? null,
    pipeline: filter.pipeline ?? null,
    status: filter.status ?? null,
    limit: filter.limit,
    offset: filter.offset ?? 0,
  }) as RecentAttemptRow[];
  return rows.map(toRecentAttempt);
}

export async function listEvents(ctx: SqliteContext, itemId: number): Promise<WorkEvent[]> {
  return (ctx.s.eventsOf.all(itemId) as EventRow[]).map(toEvent);
}

export async function countFailedSince(ctx: SqliteContext, since: Date): Promise<number> {
  return ctx.s.failedSince.pluck().get(since.getTime()) as number;
}

export async function nextDesiredAt(ctx: SqliteContext, pipelines?: readonly string[]): Promise<Date | null> {
  const only = pipelines ? JSON.stringify(pipelines) : null;
  let at: number | null = null;
  for (const priority of ctx.s.readyLevels.pluck().all() as number[]) {
    const first = ctx.s.firstDueAt.pluck().get({ priority, only }) as number | undefined;
    if (first !== undefined && (at === null || first < at)) at = first;
  }
  return at === null ? null : new Date(at);
}
