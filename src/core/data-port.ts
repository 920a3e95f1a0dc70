import type { Partition } from './partition.js';
import type { Anomaly, RevisionSummary } from './run-result.js';

/**
 * The data port: the types of what handlers land data through (`ctx.data`). They live in
 * core so that the pipeline SDK (core/pipeline.ts) can name them without core importing the
 * data layer; src/data/ implements them (SQLite and PostgreSQL) and re-exports them from
 * where they were first written (dataset.ts, anomaly-checks.ts, data-store.ts).
 */

// --- datasets (see data/dataset.ts) ----------------------------------------------------

export type ColumnType = 'text' | 'integer' | 'real' | 'date' | 'boolean';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** A non-key column that should always be filled: nulls are an anomaly, not a failure. */
  readonly required?: boolean;
}

export interface Dataset {
  /** e.g. `finra.otc_transparency` */
  readonly domain: string;
  /** e.g. `venue_volume` */
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  /** Column names; each row must fill them, and they are unique within one capture. */
  readonly primaryKey: readonly string[];
}

/** The value types rows carry after validation (what reads return). */
export type DataValue = string | number | boolean | null;
export type DataRow = Record<string, DataValue>;

// --- anomaly checks (see data/anomaly-checks.ts) ---------------------------------------

export type AnomalySeverity = Anomaly['severity'];

export type AnomalyCheckSpec =
  | { check: 'row_count_drop'; threshold: number; severity?: AnomalySeverity; previous?: Partition | string }
  | { check: 'late'; expected_by: Date | string; severity?: AnomalySeverity }
  | { check: 'required_nulls'; max_fraction?: number; severity?: AnomalySeverity }
  | { check: 'rejected_rows'; severity?: AnomalySeverity }
  | { check: 'min_rows'; min: number; severity?: AnomalySeverity };

/** A finding before it is recorded. */
export interface AnomalyDraft {
  check: string;
  severity: AnomalySeverity;
  message: string;
  detail: Record<string, unknown>;
}

/** A recorded finding. */
export interface DataAnomaly extends AnomalyDraft {
  id: number;
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  capture_id: string;
  recorded_at: Date;
}

// --- the store (see data/data-store.ts) ------------------------------------------------

export interface RejectInput {
  /** Source line (1-based, header included) when known. */
  line: number | null;
  reason: string;
  /** The raw line or record text. */
  raw?: string | null;
}

export interface LandInput {
  /** The partition object, or its canonical key (`partitionKey`); one is required. */
  partition?: Partition;
  partitionKey?: string;
  /** e.g. `ingest`, `normalize`. */
  stage: string;
  /** The fetched bytes; their SHA-256 is the content hash. Or give `contentHash` directly. */
  sourceBytes?: string | Uint8Array;
  contentHash?: string;
  /**
   * Rows by column name; `__line` (source line) is used in error messages and not stored.
   * Either all rows at once, or a RowStream of chunks landed one by one inside the one
   * landing transaction (bounded memory for files of any size).
   */
  rows: readonly object[] | RowStream;
  /** Where the bytes came from: a URL, a path. */
  source?: string;
  /** Land even when the bytes are unchanged. */
  force?: boolean;
  /** When the source was captured; default now. Must not be earlier than the latest capture of the scope. */
  capturedAt?: Date;
  /** Anomaly checks (see anomaly-checks.ts); `required_nulls` and `rejected_rows` are always on. */
  checks?: readonly AnomalyCheckSpec[];
  /** Source rows a parser refused; recorded in `rejects` and counted as an anomaly. */
  rejects?: readonly RejectInput[];
  /**
   * The largest share of source rows (rows + rejects) that may be rejected, 0..1, default
   * 0.5. Above it, or when every row is rejected, `land` throws RejectThresholdError and
   * lands nothing, so the prior capture stays latest.
   */
  maxRejectShare?: number;
  /**
   * Test hook: awaited inside the landing transaction after the staging rows are written and
   * before the MERGE. On SQLite the shared connection stays inside that transaction while it
   * runs, so it is for tests and fault injection only.
   */
  onStaged?: () => Promise<void> | void;
}

/**
 * One chunk of a RowStream's rows, in the value-array form: `values[r]` holds row r's values
 * in the dataset's column order (`ds.columns`), `lines[r]` its source line (for error
 * messages; optional). It is the landing's own form of a row, so a parser that knows the
 * dataset's columns skips an object per row and a lookup by name per value. The arrays are
 * the landing's once handed over: a value is converted in place to its stored form.
 */
export interface ValueChunk {
  readonly values: unknown[][];
  readonly lines?: readonly number[];
}

/** A chunk of row objects by column name (with `__line`), or of value arrays in column order. */
export type RowChunk = readonly object[] | ValueChunk;

/**
 * Rows in chunks, as a streaming parser produces them. The content hash must be known before
 * (`sourceBytes` or `contentHash`: hash the file in a first streamed pass), so an unchanged
 * source is skipped without writing anything.
 *
 * On SQLite the chunks must be a synchronous iterable: the landing transaction holds the
 * connection the queue store shares, so nothing may run in between (read files with
 * `readSync`). On PostgreSQL they may be asynchronous too.
 *
 * Validation is per chunk (types, keys, a key twice within a chunk); a key repeated across
 * chunks is caught by the table's primary key and reported as the same RowValidationError.
 */
export interface RowStream {
  readonly chunks: Iterable<RowChunk> | AsyncIterable<RowChunk>;
  /** Rows the parser refused; read once the chunks are exhausted (added to `LandInput.rejects`). */
  rejects?(): readonly RejectInput[];
  /**
   * The source already refused a key twice (FINRA's parser rejects a repeated (symbol, MPID)),
   * so validation skips its per-chunk map of keys. A repeat that still arrives is caught by
   * the table's primary key, like one across chunks.
   */
  readonly uniqueKeys?: boolean;
}

export interface LandResult {
  status: 'landed' | 'skipped';
  /** Same as `status === 'skipped'`; lets a handler return this as its result. */
  skipped: boolean;
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  /** The new capture, or (skipped) the latest landed capture with the same bytes. */
  capture_id: string;
  row_count: number;
  is_revision: boolean;
  revision_summary: RevisionSummary | null;
  content_hash: string;
  reason: string | null;
  /** Dataset-table rows inserted, updated or deleted by the MERGE (0 when re-landing identical rows). */
  rows_written: number;
  anomalies: DataAnomaly[];
}

export interface CaptureRecord {
  capture_id: string;
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  content_hash: string;
  row_count: number | null;
  captured_at: Date;
  /** Last time rows were written for it (a forced re-landing moves it); null for failures. */
  landed_at: Date | null;
  source: string | null;
  status: 'landed' | 'failed';
  is_revision: boolean;
  revision_summary: RevisionSummary | null;
  error: string | null;
}

export interface ManifestEntry {
  domain: string;
  partition_key: string;
  stage: string;
  dataset: string;
  capture_id: string;
  row_count: number;
  content_hash: string;
  captured_at: Date;
  updated_at: Date;
}

export interface RejectRecord {
  capture_id: string;
  line: number | null;
  reason: string;
  raw: string | null;
}

export interface CaptureFilter {
  domain: string;
  partitionKey?: string;
  dataset?: string;
  stage?: string;
  status?: 'landed' | 'failed';
}

export interface ManifestFilter {
  domain?: string;
  partitionKey?: string;
  stage?: string;
  dataset?: string;
}

export interface AnomalyFilter {
  domain?: string;
  partitionKey?: string;
  stage?: string;
  captureId?: string;
  check?: string;
  severity?: AnomalySeverity;
}

export type Where = Readonly<Record<string, string | number | boolean>>;

export interface ReadOptions {
  where?: Where;
}

export type AsOfRef = { capture_id: string } | { at: Date };

export interface CompletionRequest {
  /** Default domain for stages that do not name one. */
  domain?: string;
  /** The stages that must be in; each may list its own partitions (sources differ in shape). */
  stages: readonly { domain?: string; stage: string; partitionKeys?: readonly (string | Partition)[] }[];
  /** Partitions for stages without their own, e.g. all tiers of one week. */
  partitionKeys?: readonly (string | Partition)[];
}

export interface CompletionCell {
  domain: string;
  stage: string;
  partition_key: string;
  status: 'in' | 'missing';
  dataset: string | null;
  capture_id: string | null;
  row_count: number | null;
  captured_at: Date | null;
  updated_at: Date | null;
}

export interface CompletionReport {
  /** Every requested (stage, partition) is in. */
  complete: boolean;
  cells: CompletionCell[];
  in: CompletionCell[];
  missing: CompletionCell[];
}

export interface DataStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Creates the shared tables (captures, manifest, anomalies, rejects, datasets); idempotent. */
  ensureSchema(): Promise<void>;
  /** Creates a dataset's table and staging table, or checks an existing one has the same definition. */
  ensureDataset(ds: Dataset): Promise<void>;
  land(ds: Dataset, input: LandInput): Promise<LandResult>;
  /** Rows of the latest landed capture of every partition. */
  latest(ds: Dataset, options?: ReadOptions): Promise<DataRow[]>;
  /** Rows of one capture, or per partition of the latest capture landed at or before `at`. */
  asOf(ds: Dataset, ref: AsOfRef, where?: Where): Promise<DataRow[]>;
  /** The latest capture (any status) of a (domain, partition, stage), or null. */
  latestCapture(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): Promise<CaptureRecord | null>;
  listCaptures(filter: CaptureFilter): Promise<CaptureRecord[]>;
  manifest(filter?: ManifestFilter): Promise<ManifestEntry[]>;
  completion(request: CompletionRequest): Promise<CompletionReport>;
  anomalies(filter?: AnomalyFilter): Promise<DataAnomaly[]>;
  rejects(captureId: string): Promise<RejectRecord[]>;
}
