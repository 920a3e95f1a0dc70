import { partitionKey, type Partition } from '../core/partition.js';
import { WORK_STATES, type WorkState } from '../core/states.js';
import type { PartitionKeySummary, PartitionSummary, Store } from '../store/store.js';
import {
  GRID_MAX_INTERVAL_MS,
  GRID_MAX_STALE_MS,
  GRID_MIN_INTERVAL_MS,
  GridScanner,
  NONE,
  buildGrid,
  chooseAxes,
  sortValues,
  type Dimension,
  type GridCell,
  type GridJson,
  type GridOptions,
} from './grid.js';

/**
 * The partition grid served from the store's grid summary (migration 7: each partition key's
 * distinct values, kept by triggers on every item insert and delete) instead of a scan of
 * every item, so a page costs the same at a million partitions as at ten:
 * - dimensions, axis sizes and "(none)" come from `partitionSummary` (one row per key, plus
 *   one index count per state), cached like the scan (refreshed at most every
 *   max(GRID_MIN_INTERVAL_MS, 2 x its duration); a stale one is served while the next is read);
 * - an axis of up to AXIS_IN_MEMORY values is read whole and sorted exactly as the scan sorts
 *   it; a larger one must be all canonical integers or all YYYY-MM-DD dates, whose order the
 *   summary's sort-key index holds, and only the page's values are read;
 * - the cells are the page's rows x columns, each one partition, read live by partition key
 *   (so a cell may be newer than the totals beside it, by at most one summary refresh).
 * That last point needs at most two partition keys in the pipeline (no folded keys: with one,
 * a cell is many partitions); a pipeline with more, or with a large axis of other values, is
 * scanned as before (GridScanner).
 */
export const AXIS_IN_MEMORY = 20_000;

interface Snapshot {
  summary: PartitionSummary;
  at: number;
  durationMs: number;
  inflight: Promise<Snapshot> | null;
  /** Sorted values of the small axes of this summary, by key. */
  axes: Map<string, Promise<string[]>>;
}

interface Axis {
  key: string | null;
  /** Values without NONE. */
  distinct: number;
  none: boolean;
  page(offset: number, limit: number): Promise<string[]>;
}

export class Grids extends GridScanner {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(private readonly gridStore: Store) {
    super(gridStore);
  }

  /** One page of the grid: from the summary when the pipeline's shape allows, else from a scan. */
  async grid(pipelineKey: string, domain: string, pipeline: string, opts: GridOptions): Promise<GridJson> {
    const snap = await this.snapshot(domain, pipeline);
    const fromSummary = await this.fromSummary(pipelineKey, domain, pipeline, snap, opts);
    if (fromSummary) return fromSummary;
    return buildGrid(pipelineKey, await this.scan(domain, pipeline), opts);
  }

  private async snapshot(domain: string, pipeline: string): Promise<Snapshot> {
    const key = `${domain}.${pipeline}`;
    const snap = this.snapshots.get(key);
    if (!snap) {
      const fresh = await this.readSummary(domain, pipeline);
      this.snapshots.set(key, fresh);
      if (this.snapshots.size > 32) this.snapshots.delete(this.snapshots.keys().next().value!);
      return fresh;
    }
    const age = Date.now() - snap.at;
    if (age < Math.min(GRID_MAX_INTERVAL_MS, Math.max(GRID_MIN_INTERVAL_MS, 2 * snap.durationMs))) return snap;
    // Stale: read the next one; serve this one meanwhile unless it is too old.
    snap.inflight ??= this.readSummary(domain, pipeline).then(
      (next) => (this.snapshots.set(key, next), next),
      (err: unknown) => {
        snap.inflight = null;
        throw err;
      },
    );
    if (age < GRID_MAX_STALE_MS) {
      snap.inflight.catch(() => undefined);
      return snap;
    }
    return snap.inflight;
  }

  private async readSummary(domain: string, pipeline: string): Promise<Snapshot> {
    const started = Date.now();
    const summary = await this.gridStore.partitionSummary(domain, pipeline);
    return { summary, at: Date.now(), durationMs: Date.now() - started, inflight: null, axes: new Map() };
  }

  private async fromSummary(pipelineKey: string, domain: string, pipeline: string, snap: Snapshot, opts: GridOptions): Promise<GridJson | null> {
    const { keys, states } = snap.summary;
    if (keys.length === 0 || keys.length > 2) return null;
    const total = WORK_STATES.reduce((n, st) => n + states[st], 0);
    const dimensions: Dimension[] = keys.map((k) => ({ key: k.key, distinct: k.distinctValues, date_like: k.dateLikeValues === k.distinctValues }));
    const { rowKey, colKey, folded } = chooseAxes(pipelineKey, dimensions, opts.rows, opts.cols);
    const byName = new Map(keys.map((k) => [k.key, k]));
    const rowAxis = this.axis(domain, pipeline, snap, rowKey === null ? null : byName.get(rowKey)!, total);
    const colAxis = this.axis(domain, pipeline, snap, colKey === null ? null : byName.get(colKey)!, total);
    if (!rowAxis || !colAxis) return null;
    const [rows, columns] = await Promise.all([rowAxis.page(opts.offset, opts.limit), colAxis.page(opts.colOffset, opts.colLimit)]);

    // Each cell is one partition: the row value and the column value (NONE: the key is absent).
    const cellKey = (r: string, c: string) => {
      const p: Record<string, string> = {};
      if (rowKey !== null && r !== NONE) p[rowKey] = r;
      if (colKey !== null && c !== NONE) p[colKey] = c;
      return partitionKey(p as Partition);
    };
    const wanted = rows.flatMap((r) => columns.map((c) => cellKey(r, c)));
    const found = new Map((await this.gridStore.partitionStatesByKey(domain, pipeline, wanted)).map((p) => [p.partitionKey, p]));
    const cells = rows.map((r) =>
      columns.map((c): GridCell | null => {
        const p = found.get(cellKey(r, c));
        return p ? { state: p.state, count: 1, item_id: p.itemId, counts: { [p.state]: 1 } as Partial<Record<WorkState, number>> } : null;
      }),
    );
    return {
      pipeline: pipelineKey,
      total_items: total,
      truncated: false,
      scanned_at: new Date(snap.at).toISOString(),
      dimensions,
      row_key: rowKey,
      col_key: colKey,
      folded_keys: folded,
      rows,
      columns,
      total_rows: rowAxis.distinct + (rowAxis.none ? 1 : 0),
      total_columns: colAxis.distinct + (colAxis.none ? 1 : 0),
      offset: opts.offset,
      limit: opts.limit,
      col_offset: opts.colOffset,
      col_limit: opts.colLimit,
      state_totals: Object.fromEntries(WORK_STATES.map((st) => [st, states[st]])),
      cells,
    };
  }

  /** An axis over one key (null: no key, the single `-`), or null when the summary cannot order it. */
  private axis(domain: string, pipeline: string, snap: Snapshot, key: PartitionKeySummary | null, total: number): Axis | null {
    if (key === null) {
      const all = total > 0 ? ['-'] : [];
      return { key: null, distinct: all.length, none: false, page: async (offset, limit) => all.slice(offset, offset + limit) };
    }
    const none = total > key.items;
    const dated = key.dateLikeValues === key.distinctValues;
    // NONE is the last row (column): number distinctValues.
    const withNone = (values: string[], offset: number, limit: number) =>
      none && offset <= key.distinctValues && offset + limit > key.distinctValues ? [...values, NONE] : values;
    if (key.distinctValues <= AXIS_IN_MEMORY) {
      let sorted = snap.axes.get(key.key);
      if (!sorted) {
        sorted = this.gridStore.partitionValues(domain, pipeline, key.key).then((values) => sortValues(values, dated));
        snap.axes.set(key.key, sorted);
        sorted.catch(() => snap.axes.delete(key.key));
      }
      const all = sorted;
      return {
        key: key.key,
        distinct: key.distinctValues,
        none,
        page: async (offset, limit) => withNone((await all).slice(offset, offset + limit), offset, limit),
      };
    }
    // The sort-key order is the grid's order only for these two shapes (see `sortValues`).
    const ints = key.intValues === key.distinctValues;
    if (!ints && key.isoDateValues !== key.distinctValues) return null;
    return {
      key: key.key,
      distinct: key.distinctValues,
      none,
      page: async (offset, limit) =>
        withNone(
          offset < key.distinctValues ? await this.gridStore.partitionValues(domain, pipeline, key.key, { descending: !ints && dated, offset, limit }) : [],
          offset,
          limit,
        ),
    };
  }
}
