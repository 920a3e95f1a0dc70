import { WORK_STATES, type WorkState } from '../core/states.js';
import { CANONICAL_INT, DATE_LIKE, ISO_DATE, type Partition } from '../core/partition.js';
import type { Store } from '../store/store.js';
import { ApiError } from './errors.js';

/**
 * The partition status grid (Dagster's "partitions" view): one cell per partition of a
 * pipeline, rows and columns taken from two partition keys, coloured by state.
 *
 * The grid keeps, per pipeline, a snapshot of (item id, partition, state) for its items,
 * read with the store's `partitionStates` (one indexed query per page of GRID_PAGE, keyset
 * paged, only those columns; the event loop breathes between pages):
 * - a refresh re-reads the whole pipeline; it is skipped while the pipeline's counts by
 *   state (`countByState`) are unchanged, up to GRID_MAX_STALE_MS;
 * - refreshes are at least twice the last one's duration apart (between
 *   GRID_MIN_INTERVAL_MS and GRID_MAX_INTERVAL_MS), so a large pipeline is never read
 *   more than a third of the time; concurrent requests share one refresh.
 * Rows and columns are then paged on the server so a page never carries more than
 * limit x col_limit cells. Snapshots stop at GRID_MAX_ITEMS items in partition-key order
 * (`truncated: true`).
 */
export const GRID_PAGE = 50_000;
export const GRID_MAX_ITEMS = 1_000_000;
export const GRID_MIN_INTERVAL_MS = 1_000;
export const GRID_MAX_INTERVAL_MS = 30_000;
export const GRID_MAX_STALE_MS = 30_000;
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
      return this.track(snap, signature, this.read(domain, pipeline));
    }
    const fresh: Snapshot = { scan: { entries: [], truncated: false, at: 0 }, signature, durationMs: 0, inflight: null };
    this.cache.set(key, fresh);
    // Keep the cache small: a dashboard looks at a handful of pipelines.
    if (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value!);
    return this.track(fresh, signature, this.read(domain, pipeline));
  }

  private track(snap: Snapshot, signature: string, work: Promise<Omit<Scan, 'at'>>): Promise<Scan> {
    const started = Date.now();
    snap.inflight = work.then(
      (next) => {
        snap.scan = { ...next, at: Date.now() };
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

  /** Every partition of the pipeline, page by page in partition-key order, each page
   * starting after the last key of the previous one (keyset paging). Pages are separate
   * reads: a partition enqueued meanwhile may be missed, and the next refresh (the counts
   * changed) picks it up. */
  private async read(domain: string, pipeline: string): Promise<Omit<Scan, 'at'>> {
    const entries: ScanEntry[] = [];
    let truncated = false;
    for (let after: string | undefined; ;) {
      const page = await this.store.partitionStates(domain, pipeline, { limit: GRID_PAGE, after });
      for (const p of page) entries.push({ id: p.itemId, partition: p.partition, state: p.state });
      if (page.length < GRID_PAGE) break;
      after = page[page.length - 1]!.partitionKey;
      if (entries.length >= GRID_MAX_ITEMS) {
        truncated = (await this.store.countPartitions(domain, pipeline)) > entries.length;
        break;
      }
      await breathe();
    }
    return { entries, truncated };
  }
}

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

const byKeyName = (a: Dimension, b: Dimension) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The row, column and folded keys for a request (rows= / cols= or chosen), after checking
 * that named keys exist. `dimensions` in key-name order; a key is date-like when all its
 * values are. */
export function chooseAxes(
  pipelineKey: string,
  dimensions: readonly Dimension[],
  rows: string | undefined,
  cols: string | undefined,
): { rowKey: string | null; colKey: string | null; folded: string[] } {
  const keys = dimensions.map((d) => d.key);
  for (const [field, value] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (value !== undefined && !keys.includes(value)) {
      throw new ApiError(
        400,
        'invalid_input',
        `${field}: ${JSON.stringify(value)} is not a partition key of ${pipelineKey}`,
        field,
        value,
        `name a partition key of ${pipelineKey} (${keys.join(', ') || 'none'})`,
      );
    }
  }
  const auto = chooseDimensions(dimensions);
  const rowKey = rows ?? (cols !== undefined && auto.row === cols ? auto.col : auto.row);
  let colKey = cols ?? (auto.col === rowKey ? auto.row : auto.col);
  if (colKey === rowKey) colKey = null;
  return { rowKey, colKey, folded: keys.filter((k) => k !== rowKey && k !== colKey).sort() };
}

/** One partition key's values: each distinct value numbered in order of appearance, and
 * each entry's value number (-1: the entry has no such key). */
interface KeyValues {
  ords: Int32Array;
  numbers: Map<string, number>;
  list: string[];
  dated: boolean;
}

/**
 * Cells by number (row number x columns + column number), in typed arrays when the grid is
 * not too sparse to hold densely, else in a Map. `counts` only for cells of several items.
 */
class Cells {
  private readonly rank: Int8Array | null;
  private readonly count: Int32Array | null;
  private readonly id: Float64Array | null;
  private readonly sparse: Map<number, { rank: number; count: number; id: number }> | null;
  readonly counts = new Map<number, Partial<Record<WorkState, number>>>();

  constructor(size: number) {
    const dense = size <= 4_000_000;
    this.rank = dense ? new Int8Array(size).fill(-1) : null;
    this.count = dense ? new Int32Array(size) : null;
    this.id = dense ? new Float64Array(size) : null;
    this.sparse = dense ? null : new Map();
  }

  add(at: number, state: WorkState, id: number): void {
    const rank = RANK.get(state)!;
    let cell = this.sparse ? this.sparse.get(at) : this.rank![at]! < 0 ? undefined : { rank: this.rank![at]!, count: this.count![at]!, id: this.id![at]! };
    if (!cell) {
      cell = { rank, count: 1, id };
    } else {
      let counts = this.counts.get(at);
      if (!counts) this.counts.set(at, (counts = { [STATE_PRECEDENCE[cell.rank]!]: 1 }));
      counts[state] = (counts[state] ?? 0) + 1;
      cell.count++;
      if (rank < cell.rank) cell.rank = rank;
    }
    if (this.sparse) this.sparse.set(at, cell);
    else {
      this.rank![at] = cell.rank;
      this.count![at] = cell.count;
      this.id![at] = cell.id;
    }
  }

  get(at: number): GridCell | null {
    const cell = this.sparse ? this.sparse.get(at) : this.rank![at]! < 0 ? undefined : { rank: this.rank![at]!, count: this.count![at]!, id: this.id![at]! };
    if (!cell) return null;
    const state = STATE_PRECEDENCE[cell.rank]!;
    return { state, count: cell.count, item_id: cell.count === 1 ? cell.id : null, counts: { ...(this.counts.get(at) ?? { [state]: 1 }) } };
  }
}

interface Aggregate {
  dimensions: Dimension[];
  rowKey: string | null;
  colKey: string | null;
  folded: string[];
  cells: Cells;
  /** Number of a row (column) value; NONE and `-` (no key) are the last number. */
  rowNumber: (value: string) => number | undefined;
  colNumber: (value: string) => number | undefined;
  columnCount: number;
  allRows: string[];
  allCols: string[];
  stateTotals: Record<string, number>;
}

/** Aggregates are computed once per snapshot and rows/cols choice, then only paged. */
const aggregates = new WeakMap<Scan, Map<string, Aggregate>>();

const RANK = new Map(STATE_PRECEDENCE.map((st, i) => [st, i]));

/**
 * Row or column values in display order: date-like keys newest first; otherwise natural
 * order (`collator`: numbers by value). Two common shapes skip the collator, with the same
 * result: all canonical integers (sorted as numbers) and all YYYY-MM-DD dates (sorted as
 * plain strings). A million values then sort in well under a second.
 */
export function sortValues(list: readonly string[], dated: boolean): string[] {
  let values: string[];
  if (list.every((v) => CANONICAL_INT.test(v))) {
    values = Array.from(Float64Array.from(list, Number).sort(), String);
    if (dated) values.reverse();
  } else if (list.every((v) => ISO_DATE.test(v))) {
    values = [...list].sort();
    if (dated) values.reverse();
  } else {
    values = [...list].sort(dated ? (a, b) => collator.compare(b, a) : (a, b) => collator.compare(a, b));
  }
  return values;
}

function aggregate(pipelineKey: string, scan: Scan, rows: string | undefined, cols: string | undefined): Aggregate {
  const memoKey = `${rows ?? ''}\u0000${cols ?? ''}`;
  let memo = aggregates.get(scan);
  const hit = memo?.get(memoKey);
  if (hit) return hit;

  // One pass numbers every key's values; the cells then work on numbers, not strings.
  const entries = scan.entries;
  const n = entries.length;
  const byKey = new Map<string, KeyValues>();
  for (let i = 0; i < n; i++) {
    const partition = entries[i]!.partition;
    for (const k in partition) {
      const v = partition[k]!;
      let kv = byKey.get(k);
      if (!kv) byKey.set(k, (kv = { ords: new Int32Array(n).fill(-1), numbers: new Map(), list: [], dated: false }));
      let ord = kv.numbers.get(v);
      if (ord === undefined) {
        ord = kv.list.length;
        kv.numbers.set(v, ord);
        kv.list.push(v);
      }
      kv.ords[i] = ord;
    }
  }
  for (const kv of byKey.values()) kv.dated = kv.list.every((v) => DATE_LIKE.test(v));
  const dimensions: Dimension[] = [...byKey].map(([key, kv]) => ({ key, distinct: kv.list.length, date_like: kv.dated })).sort(byKeyName);
  const { rowKey, colKey, folded } = chooseAxes(pipelineKey, dimensions, rows, cols);

  const rowKv = rowKey === null ? null : byKey.get(rowKey)!;
  const colKv = colKey === null ? null : byKey.get(colKey)!;
  // The last number of each axis is NONE (entries without the key), or `-` without a key.
  const rowCount = (rowKv?.list.length ?? 0) + 1;
  const colCount = (colKv?.list.length ?? 0) + 1;
  const cells = new Cells(rowCount * colCount);
  const totals = new Map<WorkState, number>();
  let rowNone = false;
  let colNone = false;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    let r = rowKv ? rowKv.ords[i]! : rowCount - 1;
    let c = colKv ? colKv.ords[i]! : colCount - 1;
    if (r < 0) {
      r = rowCount - 1;
      rowNone = true;
    }
    if (c < 0) {
      c = colCount - 1;
      colNone = true;
    }
    totals.set(e.state, (totals.get(e.state) ?? 0) + 1);
    cells.add(r * colCount + c, e.state, e.id);
  }
  const axis = (kv: KeyValues | null, none: boolean, dated: boolean): string[] => {
    if (!kv) return n > 0 ? ['-'] : [];
    const sorted = sortValues(kv.list, dated);
    if (none) sorted.push(NONE);
    return sorted;
  };
  const number = (kv: KeyValues | null, count: number) => (value: string) =>
    kv === null ? (value === '-' ? 0 : undefined) : value === NONE ? count - 1 : kv.numbers.get(value);
  const stateTotals: Record<string, number> = Object.fromEntries(WORK_STATES.map((st) => [st, totals.get(st) ?? 0]));
  const result: Aggregate = {
    dimensions,
    rowKey,
    colKey,
    folded,
    cells,
    rowNumber: number(rowKv, rowCount),
    colNumber: number(colKv, colCount),
    columnCount: colCount,
    allRows: axis(rowKv, rowNone, rowKv?.dated ?? false),
    allCols: axis(colKv, colNone, colKv?.dated ?? false),
    stateTotals,
  };
  if (!memo) aggregates.set(scan, (memo = new Map()));
  if (memo.size > 16) memo.clear();
  memo.set(memoKey, result);
  return result;
}

export function buildGrid(pipelineKey: string, scan: Scan, opts: GridOptions) {
  const agg = aggregate(pipelineKey, scan, opts.rows, opts.cols);
  const rows = agg.allRows.slice(opts.offset, opts.offset + opts.limit);
  const columns = agg.allCols.slice(opts.colOffset, opts.colOffset + opts.colLimit);
  const colNumbers = columns.map(agg.colNumber);
  const cellAt = (r: number | undefined, c: number | undefined) => (r === undefined || c === undefined ? null : agg.cells.get(r * agg.columnCount + c));
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
    cells: rows.map((r) => {
      const rn = agg.rowNumber(r);
      return colNumbers.map((cn) => cellAt(rn, cn));
    }),
  };
}

export type GridJson = ReturnType<typeof buildGrid>;
