import { OUTSTANDING_STATES, WORK_STATES, type WorkState } from '../core/states.js';
import type { Partition } from '../core/partition.js';
import type { Store } from '../store/store.js';
import { ApiError } from './errors.js';

/**
 * The partition status grid (Dagster's "partitions" view): one cell per partition of a
 * pipeline, rows and columns taken from two partition keys, coloured by state.
 *
 * The Store has no aggregation for this yet, so the grid keeps, per pipeline, a snapshot of
 * (id, partition, state) for its items, built from `listItems` only:
 * - the first request reads every item in pages of GRID_PAGE (the event loop breathes
 *   between pages): a few seconds for 100,000 items on SQLite;
 * - later requests refresh it incrementally: new items (ids above the highest seen), the
 *   items now outstanding (WAITING, PENDING, RUNNING, RETRY_WAIT: every state change but
 *   pruning passes through one of them), and the items that were outstanding last time and
 *   no longer are (one `getItem` each). A retry that went in and out of the outstanding
 *   states between two refreshes, or pruning, is caught by comparing the snapshot's counts
 *   with `countByState` (then everything is re-read), and there is a full re-read every
 *   GRID_FULL_RESCAN_MS anyway;
 * - nothing is read while the pipeline's counts by state (`countByState`) are unchanged,
 *   up to GRID_MAX_STALE_MS; refreshes are twice the last one's duration apart (between
 *   GRID_MIN_INTERVAL_MS and GRID_MAX_INTERVAL_MS); concurrent requests share one refresh.
 * Rows and columns are then paged on the server so a page never carries more than
 * limit x col_limit cells. Snapshots stop at GRID_MAX_ITEMS items (`truncated: true`).
 */
export const GRID_PAGE = 5_000;
export const GRID_MAX_ITEMS = 500_000;
export const GRID_MIN_INTERVAL_MS = 1_000;
export const GRID_MAX_INTERVAL_MS = 5_000;
export const GRID_MAX_STALE_MS = 30_000;
export const GRID_FULL_RESCAN_MS = 5 * 60_000;
/** Above this many items settled since the last refresh, re-read everything instead. */
export const GRID_MAX_LOOKUPS = 2_000;
export const NONE = '(none)';

/** Which state a cell holding several items shows: the one that needs attention first. */
export const STATE_PRECEDENCE: readonly WorkState[] = ['FAILED', 'RUNNING', 'RETRY_WAIT', 'PENDING', 'WAITING', 'CANCELLED', 'COMPLETE'];

interface ScanEntry {
  id: number;
  partition: Partition;
  state: WorkState;
}

export interface Scan {
  entries: ScanEntry[];
  truncated: boolean;
  /** When the snapshot was last refreshed (ms since the epoch). */
  at: number;
}

interface Snapshot {
  byId: Map<number, ScanEntry>;
  maxId: number;
  outstanding: Set<number>;
  truncated: boolean;
  fullAt: number;
  scan: Scan;
  signature: string;
  durationMs: number;
  inflight: Promise<Scan> | null;
}

export class GridScanner {
  private readonly cache = new Map<string, Snapshot>();

  constructor(private readonly store: Store) {}

  async scan(domain: string, pipeline: string): Promise<Scan> {
    const key = `${domain}.${pipeline}`;
    const snap = this.cache.get(key);
    if (snap?.inflight) return snap.inflight;
    if (snap && Date.now() - snap.scan.at < Math.min(GRID_MAX_INTERVAL_MS, Math.max(GRID_MIN_INTERVAL_MS, 2 * snap.durationMs))) return snap.scan;
    const signature = await this.signature(domain, pipeline);
    if (snap) {
      if (snap.inflight) return snap.inflight;
      if (snap.signature === signature && Date.now() - snap.scan.at < GRID_MAX_STALE_MS) return snap.scan;
      const full = snap.truncated || Date.now() - snap.fullAt > GRID_FULL_RESCAN_MS;
      return this.track(snap, signature, full ? this.full(domain, pipeline) : this.incremental(domain, pipeline, snap));
    }
    const fresh: Snapshot = {
      byId: new Map(),
      maxId: 0,
      outstanding: new Set(),
      truncated: false,
      fullAt: 0,
      scan: { entries: [], truncated: false, at: 0 },
      signature,
      durationMs: 0,
      inflight: null,
    };
    this.cache.set(key, fresh);
    // Keep the cache small: a dashboard looks at a handful of pipelines.
    if (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value!);
    return this.track(fresh, signature, this.full(domain, pipeline));
  }

  private track(snap: Snapshot, signature: string, work: Promise<Omit<Snapshot, 'scan' | 'signature' | 'durationMs' | 'inflight'>>): Promise<Scan> {
    const started = Date.now();
    snap.inflight = work.then(
      (next) => {
        Object.assign(snap, next);
        snap.scan = { entries: [...snap.byId.values()], truncated: snap.truncated, at: Date.now() };
        snap.signature = signature;
        snap.durationMs = Date.now() - started;
        snap.inflight = null;
        return snap.scan;
      },
      (err: unknown) => {
        snap.inflight = null;
        throw err;
      },
    );
    return snap.inflight;
  }

  private async signature(domain: string, pipeline: string): Promise<string> {
    const counts = await this.store.countByState();
    return counts
      .filter((c) => c.domain === domain && c.pipeline === pipeline)
      .map((c) => `${c.state}:${c.count}`)
      .sort()
      .join(',');
  }

  private async full(domain: string, pipeline: string) {
    const byId = new Map<number, ScanEntry>();
    const outstanding = new Set<number>();
    let maxId = 0;
    let truncated = false;
    const fullAt = Date.now();
    for (let offset = 0; ; offset += GRID_PAGE) {
      const page = await this.store.listItems({ domain, pipeline, limit: GRID_PAGE, offset, order: 'oldest' });
      for (const item of page) {
        byId.set(item.id, { id: item.id, partition: item.partition, state: item.state });
        if (OUTSTANDING.has(item.state)) outstanding.add(item.id);
        if (item.id > maxId) maxId = item.id;
      }
      if (page.length < GRID_PAGE) break;
      if (byId.size >= GRID_MAX_ITEMS) {
        truncated = true;
        break;
      }
      await breathe();
    }
    return { byId, maxId, outstanding, truncated, fullAt };
  }

  private async incremental(domain: string, pipeline: string, snap: Snapshot) {
    const byId = new Map(snap.byId);
    let maxId = snap.maxId;
    // New items, newest first, down to the highest id already known.
    for (let offset = 0; ; offset += GRID_PAGE) {
      const page = await this.store.listItems({ domain, pipeline, limit: GRID_PAGE, offset, order: 'newest' });
      const fresh = page.filter((i) => i.id > snap.maxId);
      for (const item of fresh) {
        byId.set(item.id, { id: item.id, partition: item.partition, state: item.state });
        if (item.id > maxId) maxId = item.id;
      }
      if (fresh.length < page.length || page.length < GRID_PAGE) break;
      await breathe();
    }
    // Everything outstanding now, with its current state.
    const outstanding = new Set<number>();
    for (let offset = 0; ; offset += GRID_PAGE) {
      const page = await this.store.listItems({ domain, pipeline, state: [...OUTSTANDING], limit: GRID_PAGE, offset, order: 'oldest' });
      for (const item of page) {
        outstanding.add(item.id);
        byId.set(item.id, { id: item.id, partition: item.partition, state: item.state });
      }
      if (page.length < GRID_PAGE) break;
      await breathe();
    }
    // Outstanding last time, not now: finished, failed or cancelled since (or pruned). When
    // that is a large share of the pipeline, one full read is cheaper than a lookup each.
    const settled = [...snap.outstanding].filter((id) => !outstanding.has(id));
    if (settled.length > GRID_MAX_LOOKUPS) return this.full(domain, pipeline);
    let n = 0;
    for (const id of settled) {
      const item = await this.store.getItem(id);
      if (item) byId.set(id, { id, partition: item.partition, state: item.state });
      else byId.delete(id);
      if (++n % 500 === 0) await breathe();
    }
    // An item that went from a finished state through a retry back to a finished state
    // between two refreshes was never outstanding when we looked. It shows up as more items
    // in some finished state (or in total) in the snapshot than the store now has: then
    // re-read everything. (Items finishing while we refresh only make the store's counts
    // larger, which is fine: the next refresh picks them up.)
    const have = new Map<string, number>();
    for (const e of byId.values()) if (!OUTSTANDING.has(e.state)) have.set(e.state, (have.get(e.state) ?? 0) + 1);
    const now = new Map<string, number>();
    let total = 0;
    for (const c of await this.store.countByState()) {
      if (c.domain !== domain || c.pipeline !== pipeline) continue;
      now.set(c.state, c.count);
      total += c.count;
    }
    if (byId.size > total || [...have].some(([state, n]) => n > (now.get(state) ?? 0))) return this.full(domain, pipeline);
    return { byId, maxId, outstanding, truncated: snap.truncated, fullAt: snap.fullAt };
  }
}

const OUTSTANDING = new Set<WorkState>(OUTSTANDING_STATES);

function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface GridOptions {
  rows?: string;
  cols?: string;
  limit: number;
  offset: number;
  colLimit: number;
  colOffset: number;
}

export interface GridCell {
  state: WorkState;
  count: number;
  /** Set when the cell is exactly one work item (link target). */
  item_id: number | null;
  counts: Partial<Record<WorkState, number>>;
}

export interface Dimension {
  key: string;
  distinct: number;
  date_like: boolean;
}

const DATE_LIKE = /^\d{4}-\d{2}(-\d{2})?([T ].*)?$/;
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Picks rows and columns automatically: rows = the date-like key with most values (else the
 * key with most values); columns = the next key with most values. Further keys are folded
 * into the cells (a cell then counts several items and shows the most urgent state). */
export function chooseDimensions(dims: readonly Dimension[]): { row: string | null; col: string | null } {
  if (dims.length === 0) return { row: null, col: null };
  const byDistinct = [...dims].sort((a, b) => b.distinct - a.distinct || a.key.localeCompare(b.key));
  const dated = byDistinct.filter((d) => d.date_like);
  const row = (dated[0] ?? byDistinct[0])!.key;
  const col = byDistinct.find((d) => d.key !== row)?.key ?? null;
  return { row, col };
}

interface Aggregate {
  dimensions: Dimension[];
  rowKey: string | null;
  colKey: string | null;
  folded: string[];
  cells: Map<string, Map<string, GridCell>>;
  allRows: string[];
  allCols: string[];
  stateTotals: Record<string, number>;
}

/** Aggregates are computed once per snapshot and rows/cols choice, then only paged. */
const aggregates = new WeakMap<Scan, Map<string, Aggregate>>();

function aggregate(pipelineKey: string, scan: Scan, rows: string | undefined, cols: string | undefined): Aggregate {
  const memoKey = `${rows ?? ''}\u0000${cols ?? ''}`;
  let memo = aggregates.get(scan);
  const hit = memo?.get(memoKey);
  if (hit) return hit;

  const values = new Map<string, Set<string>>();
  let sampleCount = 0;
  const dateLike = new Map<string, boolean>();
  for (const e of scan.entries) {
    for (const k in e.partition) {
      const v = e.partition[k]!;
      let set = values.get(k);
      if (!set) values.set(k, (set = new Set()));
      set.add(v);
      if (sampleCount < 50_000) dateLike.set(k, (dateLike.get(k) ?? true) && DATE_LIKE.test(v));
    }
    sampleCount++;
  }
  const dimensions: Dimension[] = [...values].map(([key, set]) => ({ key, distinct: set.size, date_like: dateLike.get(key) ?? false }));
  const keys = new Set(values.keys());
  for (const [field, value] of [['rows', rows], ['cols', cols]] as const) {
    if (value !== undefined && !keys.has(value)) {
      throw new ApiError(400, 'invalid_input', `${field}: ${JSON.stringify(value)} is not a partition key of ${pipelineKey}`, field, value, `name a partition key of ${pipelineKey} (${[...keys].join(', ') || 'none'})`);
    }
  }
  const auto = chooseDimensions(dimensions);
  const rowKey = rows ?? (cols !== undefined && auto.row === cols ? auto.col : auto.row);
  let colKey = cols ?? (auto.col === rowKey ? auto.row : auto.col);
  if (colKey === rowKey) colKey = null;
  const folded = [...keys].filter((k) => k !== rowKey && k !== colKey).sort();

  const cells = new Map<string, Map<string, GridCell>>();
  const stateTotals: Record<string, number> = Object.fromEntries(WORK_STATES.map((st) => [st, 0]));
  for (const e of scan.entries) {
    const r = rowKey === null ? '-' : (e.partition[rowKey] ?? NONE);
    const c = colKey === null ? '-' : (e.partition[colKey] ?? NONE);
    let row = cells.get(r);
    if (!row) cells.set(r, (row = new Map()));
    const cell = row.get(c);
    stateTotals[e.state] = (stateTotals[e.state] ?? 0) + 1;
    if (!cell) {
      row.set(c, { state: e.state, count: 1, item_id: e.id, counts: { [e.state]: 1 } });
    } else {
      cell.count++;
      cell.item_id = null;
      cell.counts[e.state] = (cell.counts[e.state] ?? 0) + 1;
      if (STATE_PRECEDENCE.indexOf(e.state) < STATE_PRECEDENCE.indexOf(cell.state)) cell.state = e.state;
    }
  }
  const order = (key: string | null) => (a: string, b: string) => {
    if (a === NONE) return 1;
    if (b === NONE) return -1;
    const dated = key !== null && (dateLike.get(key) ?? false);
    return dated ? collator.compare(b, a) : collator.compare(a, b);
  };
  const allRows = [...cells.keys()].sort(order(rowKey));
  const colSet = new Set<string>();
  for (const row of cells.values()) for (const c of row.keys()) colSet.add(c);
  const allCols = [...colSet].sort(order(colKey));
  const result: Aggregate = { dimensions, rowKey, colKey, folded, cells, allRows, allCols, stateTotals };
  if (!memo) aggregates.set(scan, (memo = new Map()));
  if (memo.size > 16) memo.clear();
  memo.set(memoKey, result);
  return result;
}

export function buildGrid(pipelineKey: string, scan: Scan, opts: GridOptions) {
  const agg = aggregate(pipelineKey, scan, opts.rows, opts.cols);
  const rows = agg.allRows.slice(opts.offset, opts.offset + opts.limit);
  const columns = agg.allCols.slice(opts.colOffset, opts.colOffset + opts.colLimit);
  return {
    pipeline: pipelineKey,
    total_items: scan.entries.length,
    truncated: scan.truncated,
    scanned_at: new Date(scan.at).toISOString(),
    dimensions: agg.dimensions,
    row_key: agg.rowKey,
    col_key: agg.colKey,
    folded_keys: agg.folded,
    rows,
    columns,
    total_rows: agg.allRows.length,
    total_columns: agg.allCols.length,
    offset: opts.offset,
    limit: opts.limit,
    col_offset: opts.colOffset,
    col_limit: opts.colLimit,
    state_totals: agg.stateTotals,
    cells: rows.map((r) => columns.map((c) => agg.cells.get(r)?.get(c) ?? null)),
  };
}

export type GridJson = ReturnType<typeof buildGrid>;
