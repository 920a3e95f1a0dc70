import { WORK_STATES, type WorkState } from '../../core/states.js';
import type { Partition } from '../../core/partition.js';
import type { PartitionKeySummary, PartitionState, PartitionSummary, PartitionValuesOptions } from '../store.js';
import type { PgContext } from './context.js';
import type { PgNames } from './sql-names.js';

/** The partition grid's reads: the summary the triggers of migration 7 keep, and the cells of one page. */

/** The statements of this family; see `pgStatements`. */
export function gridSql(n: PgNames) {
  const { items, q } = n;
  const keys = `${q}.grid_keys`;
  const values = `${q}.grid_values`;
  return {
    // Keys and state counts in one statement, so one snapshot. One count per state off
    // work_items_state (state, domain, pipeline): an index range each. $3 the states.
    partitionSummary: `
      SELECT
        (SELECT coalesce(json_agg(json_build_object('key', key, 'distinctValues', distinct_values, 'items', items, 'intValues', int_values,
                'isoDateValues', iso_date_values, 'dateLikeValues', date_like_values)), '[]')
           FROM ${keys} WHERE domain = $1 AND pipeline = $2) AS keys,
        (SELECT json_object_agg(s, (SELECT count(*) FROM ${items} w WHERE w.state = s AND w.domain = $1 AND w.pipeline = $2))
           FROM unnest($3::text[]) AS s) AS states`,
    valuesAscending: `SELECT value FROM ${values} WHERE domain = $1 AND pipeline = $2 AND key = $3 ORDER BY sort_key LIMIT $4 OFFSET $5`,
    valuesDescending: `SELECT value FROM ${values} WHERE domain = $1 AND pipeline = $2 AND key = $3 ORDER BY sort_key DESC LIMIT $4 OFFSET $5`,
    // One unique-index probe per key (LATERAL, all three columns equal): with
    // \`partition_key = ANY\` and the statistics of a table a backfill has just filled, the
    // planner read the whole pipeline (bitmap scan on domain, pipeline) and filtered.
    statesByKey: `
      SELECT w.partition_key, w.partition, w.state, w.id, w.updated_at
      FROM unnest($3::text[]) AS k(key)
      CROSS JOIN LATERAL (
        SELECT partition_key, partition, state, id, updated_at FROM ${items}
        WHERE domain = $1 AND pipeline = $2 AND partition_key = k.key
      ) w`,
  };
}

export async function partitionSummary(ctx: PgContext, domain: string, pipeline: string): Promise<PartitionSummary> {
  const { rows } = await ctx.pool.query<{ keys: PartitionKeySummary[]; states: Record<WorkState, number> }>(ctx.stmt('partitionSummary'), [
    domain,
    pipeline,
    [...WORK_STATES],
  ]);
  const keys = rows[0]!.keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { keys, states: rows[0]!.states };
}

export async function partitionValues(ctx: PgContext, domain: string, pipeline: string, key: string, opts: PartitionValuesOptions = {}): Promise<string[]> {
  const { rows } = await ctx.pool.query<{ value: string }>(ctx.stmt(opts.descending ? 'valuesDescending' : 'valuesAscending'), [
    domain,
    pipeline,
    key,
    opts.limit ?? null,
    opts.offset ?? 0,
  ]);
  return rows.map((r) => r.value);
}

export async function partitionStatesByKey(ctx: PgContext, domain: string, pipeline: string, partitionKeys: readonly string[]): Promise<PartitionState[]> {
  if (partitionKeys.length === 0) return [];
  const { rows } = await ctx.pool.query<{ partition_key: string; partition: Partition; state: WorkState; id: string; updated_at: Date }>(
    ctx.stmt('statesByKey'),
    [domain, pipeline, [...partitionKeys]],
  );
  return rows.map((r) => ({ partitionKey: r.partition_key, partition: r.partition, state: r.state, itemId: Number(r.id), updatedAt: r.updated_at }));
}
