import type pg from 'pg';
import type { Partition } from '../../core/partition.js';
import type { WorkState } from '../../core/states.js';
import type { Attempt, WorkEvent, WorkItem } from '../../core/work-item.js';
import type { ListFilter, PartitionState, PartitionStatesOptions, RecentAttempt, RecentAttemptsFilter, StateCount } from '../store.js';
import type { PgContext } from './context.js';
import { toItem, toAttempt, toEvent, toRecentAttempt, type ItemRow, type AttemptRow, type RecentAttemptRow, type EventRow } from './rows.js';
import type { PgNames } from './sql-names.js';

/** Reads: items, attempts, events, partitions, counts. */

/** The statements of this family; see `pgStatements`. */
export function queriesSql(n: PgNames) {
  const { items, attempts, events, READY, levels } = n;
  return {
    getItem: `SELECT * FROM ${items} WHERE id = $1`,
    findItem: `SELECT * FROM ${items} WHERE domain = $1 AND pipeline = $2 AND partition_key = $3`,
    countByState: `SELECT domain, pipeline, state, count(*)::int AS count FROM ${items} GROUP BY domain, pipeline, state ORDER BY domain, pipeline, state`,
    attemptsOf: `SELECT * FROM ${attempts} WHERE item_id = $1 ORDER BY attempt_no, id`,
    // Off the (domain, pipeline, partition_key) unique index, in its order. $3 limit (null = all) | $4 offset
    partitionStates: `
      SELECT partition_key, partition, state, id, updated_at FROM ${items}
      WHERE domain = $1 AND pipeline = $2 ORDER BY partition_key LIMIT $3 OFFSET $4`,
    // Keyset variant: $5 the last key of the previous page.
    partitionStatesAfter: `
      SELECT partition_key, partition, state, id, updated_at FROM ${items}
      WHERE domain = $1 AND pipeline = $2 AND partition_key > $5 ORDER BY partition_key LIMIT $3 OFFSET $4`,
    countPartitions: `SELECT count(*)::int AS n FROM ${items} WHERE domain = $1 AND pipeline = $2`,
    // Newest first off attempts_started; filters are checked per row, so the walk stops as
    // soon as LIMIT rows matched. $1 limit | $2 offset | $3 domain | $4 pipeline | $5 status
    recentAttempts: `
      SELECT a.*, w.domain, w.pipeline, w.partition_key, w.state AS item_state
      FROM ${attempts} a JOIN ${items} w ON w.id = a.item_id
      WHERE ($3::text IS NULL OR w.domain = $3) AND ($4::text IS NULL OR w.pipeline = $4)
        AND ($5::text IS NULL OR a.status = $5)
      ORDER BY a.started_at DESC, a.id DESC
      LIMIT $1 OFFSET $2`,
    eventsOf: `SELECT * FROM ${events} WHERE item_id = $1 ORDER BY id`,
    failedSince: `SELECT count(*)::int AS n FROM ${items} WHERE state = 'FAILED' AND finished_at >= $1`,
    // The earliest ready item is the first entry of one of the priority levels.
    nextDesiredAt: `
      WITH RECURSIVE ${levels}
      SELECT min(f.desired_at) AS at
      FROM levels l
      CROSS JOIN LATERAL (
        SELECT w.desired_at FROM ${items} w
        WHERE w.state IN (${READY}) AND w.priority = l.priority
          AND ($1::text[] IS NULL OR w.domain || '.' || w.pipeline = ANY ($1::text[]))
        ORDER BY w.desired_at LIMIT 1
      ) f
      WHERE l.priority IS NOT NULL`,
  };
}

export async function getItem(ctx: PgContext, itemId: number): Promise<WorkItem | null> {
  const { rows } = await ctx.pool.query<ItemRow>(ctx.stmt('getItem'), [itemId]);
  return rows[0] ? toItem(rows[0]) : null;
}

export async function findItem(ctx: PgContext, domain: string, pipeline: string, key: string): Promise<WorkItem | null> {
  const { rows } = await ctx.pool.query<ItemRow>(ctx.stmt('findItem'), [domain, pipeline, key]);
  return rows[0] ? toItem(rows[0]) : null;
}

function where(filter: ListFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.state !== undefined) {
    const states = typeof filter.state === 'string' ? [filter.state] : [...filter.state];
    clauses.push(`state = ANY (${bind(states)}::text[])`);
  }
  if (filter.domain !== undefined) clauses.push(`domain = ${bind(filter.domain)}`);
  if (filter.pipeline !== undefined) clauses.push(`pipeline = ${bind(filter.pipeline)}`);
  if (filter.partitionKey !== undefined) clauses.push(`partition_key = ${bind(filter.partitionKey)}`);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export async function listItems(ctx: PgContext, filter: ListFilter = {}): Promise<WorkItem[]> {
  const { sql, params } = where(filter);
  const order = filter.order === 'oldest' ? 'ASC' : 'DESC';
  const n = params.length;
  const { rows } = await ctx.pool.query<ItemRow>(`SELECT * FROM ${ctx.sql.items} ${sql} ORDER BY id ${order} LIMIT $${n + 1} OFFSET $${n + 2}`, [
    ...params,
    filter.limit ?? 1000,
    filter.offset ?? 0,
  ]);
  return rows.map(toItem);
}

export async function countItems(ctx: PgContext, filter: ListFilter = {}): Promise<number> {
  const { sql, params } = where(filter);
  const { rows } = await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ctx.sql.items} ${sql}`, params);
  return rows[0]?.n ?? 0;
}

export async function countByState(ctx: PgContext): Promise<StateCount[]> {
  const { rows } = await ctx.pool.query<StateCount>(ctx.stmt('countByState'));
  return rows;
}

export async function listAttempts(ctx: PgContext, itemId: number): Promise<Attempt[]> {
  const { rows } = await ctx.pool.query<AttemptRow>(ctx.stmt('attemptsOf'), [itemId]);
  return rows.map(toAttempt);
}

export async function partitionStates(ctx: PgContext, domain: string, pipeline: string, opts: PartitionStatesOptions = {}): Promise<PartitionState[]> {
  const values: unknown[] = [domain, pipeline, opts.limit ?? null, opts.offset ?? 0];
  if (opts.after !== undefined) values.push(opts.after);
  const { rows } = await ctx.pool.query<[string, Partition, WorkState, string, Date]>({
    ...ctx.stmt(opts.after === undefined ? 'partitionStates' : 'partitionStatesAfter'),
    rowMode: 'array',
    values,
  } as pg.QueryArrayConfig);
  const out: PartitionState[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [partitionKey, partition, state, id, updatedAt] = rows[i]!;
    out[i] = { partitionKey, partition, state, itemId: Number(id), updatedAt };
  }
  return out;
}

export async function countPartitions(ctx: PgContext, domain: string, pipeline: string): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(ctx.stmt('countPartitions'), [domain, pipeline]);
  return rows[0]?.n ?? 0;
}

export async function listRecentAttempts(ctx: PgContext, filter: RecentAttemptsFilter): Promise<RecentAttempt[]> {
  const { rows } = await ctx.pool.query<RecentAttemptRow>(ctx.stmt('recentAttempts'), [
    filter.limit,
    filter.offset ?? 0,
    filter.domain ?? null,
    filter.pipeline ?? null,
    filter.status ?? null,
  ]);
  return rows.map(toRecentAttempt);
}

export async function listEvents(ctx: PgContext, itemId: number): Promise<WorkEvent[]> {
  const { rows } = await ctx.pool.query<EventRow>(ctx.stmt('eventsOf'), [itemId]);
  return rows.map(toEvent);
}

export async function countFailedSince(ctx: PgContext, since: Date): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(ctx.stmt('failedSince'), [since]);
  return rows[0]?.n ?? 0;
}

export async function nextDesiredAt(ctx: PgContext, pipelines?: readonly string[]): Promise<Date | null> {
  const { rows } = await ctx.pool.query<{ at: Date | null }>(ctx.stmt('nextDesiredAt'), [pipelines ? [...pipelines] : null]);
  return rows[0]?.at ?? null;
}
