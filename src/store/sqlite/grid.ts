import type { Database as DB } from 'better-sqlite3';
import { CANONICAL_INT, DATE_LIKE, ISO_DATE, gridSortKey, type Partition } from '../../core/partition.js';
import { WORK_STATES, type WorkState } from '../../core/states.js';
import type { PartitionState, PartitionSummary, PartitionValuesOptions } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';

/** The partition grid's reads: the summary the triggers of migration 7 keep, and the cells of one page. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function gridStatements(db: DB) {
  return statementFamily({
    // A value of a batch: n more items; RETURNING tells whether it is new (items = n).
    gridAddValue: db.prepare(`
      INSERT INTO grid_values (domain, pipeline, key, value, sort_key, items) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (domain, pipeline, key, sort_key, value) DO UPDATE SET items = items + excluded.items
      RETURNING items`),
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
 * in the transaction that inserted them. Counted in JS first, so each distinct value of the
 * batch is one upsert and each key one more (the SQL twin, for rows inserted by SQL, is
 * `addToGridSummary` in migration 7).
 */
export function addToSummary(ctx: SqliteContext, items: readonly { domain: string; pipeline: string; partition: Partition }[]): void {
  if (items.length === 0) return;
  const values = new Map<string, { domain: string; pipeline: string; key: string; value: string; n: number }>();
  for (const { domain, pipeline, partition } of items) {
    for (const key in partition) {
      const value = partition[key]!;
      const id = `${domain}\u0000${pipeline}\u0000${key}\u0000${value}`;
      const hit = values.get(id);
      if (hit) hit.n++;
      else values.set(id, { domain, pipeline, key, value, n: 1 });
    }
  }
  const keys = new Map<string, { domain: string; pipeline: string; key: string; distinct: number; items: number; ints: number; isos: number; dated: number }>();
  for (const v of values.values()) {
    const fresh = (ctx.s.gridAddValue.pluck().get(v.domain, v.pipeline, v.key, v.value, gridSortKey(v.value), v.n) as number) === v.n;
    const id = `${v.domain}\u0000${v.pipeline}\u0000${v.key}`;
    let k = keys.get(id);
    if (!k) keys.set(id, (k = { domain: v.domain, pipeline: v.pipeline, key: v.key, distinct: 0, items: 0, ints: 0, isos: 0, dated: 0 }));
    k.items += v.n;
    if (fresh) {
      k.distinct++;
      if (CANONICAL_INT.test(v.value)) k.ints++;
      if (ISO_DATE.test(v.value)) k.isos++;
      if (DATE_LIKE.test(v.value)) k.dated++;
    }
  }
  for (const k of keys.values()) ctx.s.gridAddKey.run(k.domain, k.pipeline, k.key, k.distinct, k.items, k.ints, k.isos, k.dated);
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
