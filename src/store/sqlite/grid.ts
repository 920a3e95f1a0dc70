import type { Database as DB } from 'better-sqlite3';
import { WORK_STATES, type WorkState } from '../../core/states.js';
import type { PartitionState, PartitionSummary, PartitionValuesOptions } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';

/** The partition grid's reads: the summary the triggers of migration 7 keep, and the cells of one page. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function gridStatements(db: DB) {
  return statementFamily({
    gridKeys: db.prepare(`
      SELECT key, distinct_values, items, int_values, iso_date_values, date_like_values
      FROM grid_keys WHERE domain = ? AND pipeline = ?`),
    // One count per state off work_items_state (state, domain, pipeline): a covering index
    // range each, where a GROUP BY over the pipeline would read every row for its state.
    stateCountsOf: db.prepare(`
      SELECT s.value AS state, (SELECT count(*) FROM work_items w WHERE w.state = s.value AND w.domain = @domain AND w.pipeline = @pipeline) AS n
      FROM json_each(@states) s`),
    valuesAscending: db.prepare('SELECT value FROM grid_values WHERE domain = ? AND pipeline = ? AND key = ? ORDER BY sort_key LIMIT ? OFFSET ?'),
    valuesDescending: db.prepare('SELECT value FROM grid_values WHERE domain = ? AND pipeline = ? AND key = ? ORDER BY sort_key DESC LIMIT ? OFFSET ?'),
    statesByKey: db.prepare(`
      SELECT partition_key, partition, state, id, updated_at FROM work_items
      WHERE domain = ? AND pipeline = ? AND partition_key IN (SELECT value FROM json_each(?))`),
  });
}

type KeyRow = [string, number, number, number, number, number];

export async function partitionSummary(ctx: SqliteContext, domain: string, pipeline: string): Promise<PartitionSummary> {
  // One read transaction: keys and counts from the same snapshot.
  return ctx.db.transaction(() => {
    const keys = (ctx.s.gridKeys.raw().all(domain, pipeline) as KeyRow[]).map(([key, distinctValues, items, intValues, isoDateValues, dateLikeValues]) => ({
      key,
      distinctValues,
      items,
      intValues,
      isoDateValues,
      dateLikeValues,
    }));
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const states = Object.fromEntries(WORK_STATES.map((s) => [s, 0])) as Record<WorkState, number>;
    for (const r of ctx.s.stateCountsOf.all({ domain, pipeline, states: JSON.stringify(WORK_STATES) }) as { state: WorkState; n: number }[]) states[r.state] = r.n;
    return { keys, states };
  })();
}

export async function partitionValues(ctx: SqliteContext, domain: string, pipeline: string, key: string, opts: PartitionValuesOptions = {}): Promise<string[]> {
  const stmt = opts.descending ? ctx.s.valuesDescending : ctx.s.valuesAscending;
  return stmt.pluck().all(domain, pipeline, key, opts.limit ?? -1, opts.offset ?? 0) as string[];
}

export async function partitionStatesByKey(ctx: SqliteContext, domain: string, pipeline: string, partitionKeys: readonly string[]): Promise<PartitionState[]> {
  if (partitionKeys.length === 0) return [];
  const rows = ctx.s.statesByKey.raw().all(domain, pipeline, JSON.stringify(partitionKeys)) as [string, string, WorkState, number, number][];
  return rows.map(([partitionKey, partition, state, itemId, updatedAt]) => ({ partitionKey, partition: JSON.parse(partition), state, itemId, updatedAt: new Date(updatedAt) }));
}
