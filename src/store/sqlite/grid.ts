import type { Database as DB } from 'better-sqlite3';
import { CANONICAL_INT, DATE_LIKE, ISO_DATE, gridSortKey, type Partition } from '../../core/partition.js';
import { WORK_STATES, type WorkState } from '../../core/states.js';
import type { PartitionState, PartitionSummary, PartitionValuesOptions } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';

/** The partition grid's reads: the summary the triggers of migration 7 keep, and the cells of one page. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function gridStatements(db: DB) {
  return statementFamily({
    // A batch's distinct values of one pipeline (@rows: JSON [[key, value, sort_key, n], …]):
    // first those the summary already holds (the rest are new distinct values), then all of
    // them added in one statement. One native pass each instead of a statement call per value.
    gridExistingValues: db.prepare(`
      SELECT j.value ->> 0 AS key, j.value ->> 1 AS value FROM json_each(@rows) j
      CROSS JOIN grid_values g
      WHERE g.domain = @domain AND g.pipeline = @pipeline AND g.key = j.value ->> 0 AND g.sort_key = j.value ->> 2 AND g.value = j.value ->> 1`),
    gridAddValues: db.prepare(`
      INSERT INTO grid_values (domain, pipeline, key, value, sort_key, items)
      SELECT @domain, @pipeline, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(@rows) j WHERE true
      ON CONFLICT (domain, pipeline, key, sort_key, value) DO UPDATE SET items = items + excluded.items`),
    gridAddKey: db.prepare(`
      INSERT INTO grid_keys (domain, pipeline, key, distinct_values, items, int_values, iso_date_values, date_like_values)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (domain, pipeline, key) DO UPDATE SET distinct_values = distinct_values + excluded.distinct_values, items = items + excluded.items,
        int_values = int_values + excluded.int_values, iso_date_values = iso_date_values + excluded.iso_date_values,
        date_like_values = date_like_values + excluded.date_like_values`),
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

/**
 * Adds just-inserted items (their domain, pipeline and partition) to the grid summary; call
 * in the transaction that inserted them. Counted in JS first, then per pipeline of the batch
 * two statements over all its distinct values and one upsert per key (the SQL twin, for rows
 * inserted by SQL, is `addToGridSummary` in migration 7).
 */
export function addToSummary(ctx: SqliteContext, items: readonly { domain: string; pipeline: string; partition: Partition }[]): void {
  if (items.length === 0) return;
  // (domain, pipeline) -> key -> value -> items.
  const groups = new Map<string, { domain: string; pipeline: string; keys: Map<string, Map<string, number>> }>();
  let last: { domain: string; pipeline: string; keys: Map<string, Map<string, number>> } | undefined;
  for (const { domain, pipeline, partition } of items) {
    if (!last || last.domain !== domain || last.pipeline !== pipeline) {
      const id = `${domain}\u0000${pipeline}`;
      last = groups.get(id);
      if (!last) groups.set(id, (last = { domain, pipeline, keys: new Map() }));
    }
    for (const key in partition) {
      const value = partition[key]!;
      let values = last.keys.get(key);
      if (!values) last.keys.set(key, (values = new Map()));
      values.set(value, (values.get(value) ?? 0) + 1);
    }
  }
  for (const { domain, pipeline, keys } of groups.values()) {
    const rows: [string, string, string, number][] = [];
    for (const [key, values] of keys) for (const [value, n] of values) rows.push([key, value, gridSortKey(value), n]);
    const json = JSON.stringify(rows);
    const existing = ctx.s.gridExistingValues.raw().all({ domain, pipeline, rows: json }) as [string, string][];
    ctx.s.gridAddValues.run({ domain, pipeline, rows: json });
    const known = new Map<string, Set<string>>();
    for (const [key, value] of existing) {
      let set = known.get(key);
      if (!set) known.set(key, (set = new Set()));
      set.add(value);
    }
    for (const [key, values] of keys) {
      let total = 0;
      for (const n of values.values()) total += n;
      let distinct = 0;
      let ints = 0;
      let isos = 0;
      let dated = 0;
      const old = known.get(key);
      for (const value of values.keys()) {
        if (old?.has(value)) continue;
        distinct++;
        if (CANONICAL_INT.test(value)) ints++;
        if (ISO_DATE.test(value)) isos++;
        if (DATE_LIKE.test(value)) dated++;
      }
      ctx.s.gridAddKey.run(domain, pipeline, key, distinct, total, ints, isos, dated);
    }
  }
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
    for (const r of ctx.s.stateCountsOf.all({ domain, pipeline, states: JSON.stringify(WORK_STATES) }) as { state: WorkState; n: number }[])
      states[r.state] = r.n;
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
  return rows.map(([partitionKey, partition, state, itemId, updatedAt]) => ({
    partitionKey,
    partition: JSON.parse(partition),
    state,
    itemId,
    updatedAt: new Date(updatedAt),
  }));
}
