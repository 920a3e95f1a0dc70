import type { Database as DB } from 'better-sqlite3';
import { ValidationError } from '../core/errors.js';
import type { DataAnomaly } from './anomaly-checks.js';
import {
  completionCells,
  completionReport,
  checkAt,
  checkCaptureRef,
  mismatch,
  type AnomalyFilter,
  type AsOfRef,
  type CaptureFilter,
  type CaptureRecord,
  type CompletionCell,
  type CompletionReport,
  type CompletionRequest,
  type DataStore,
  type LandInput,
  type LandResult,
  type ManifestEntry,
  type ManifestFilter,
  type ReadOptions,
  type RejectRecord,
  type Where,
} from './data-store.js';
import { anomalyFilters, anomalyText, captureFilters, manifestFilters, type AnomalyRowOf } from './row-common.js';
import { datasetSignature, datasetTables, quoteIdent, validateDataset, validateWhere, type DataRow, type DataValue, type Dataset } from './dataset.js';
import { SqliteLandDriver, bindSqlite, sqliteCapture, type SqliteCaptureRow } from './drivers/sqlite-land.js';
import { landWith } from './land.js';
import { asOfCapturesCte, datasetSql, firstLayoutProbe, sharedDdl, type DatasetSql, type Dialect } from './sql.js';

/** A manifest row with its instants in ms. */
type ManifestRow = Omit<ManifestEntry, 'captured_at' | 'updated_at'> & { captured_at: number; updated_at: number };

type AnomalyRow = AnomalyRowOf<number, string | null, number>;

const toManifest = (r: ManifestRow): ManifestEntry => ({ ...r, captured_at: new Date(r.captured_at), updated_at: new Date(r.updated_at) });

const toAnomaly = (r: AnomalyRow): DataAnomaly => ({ ...anomalyText(r), id: r.id, detail: r.detail === null ? {} : (JSON.parse(r.detail) as Record<string, unknown>), recorded_at: new Date(r.recorded_at) });

/**
 * The data layer on the store's own better-sqlite3 connection (same file, same WAL).
 *
 * Landing is the shared algorithm of land.ts over SqliteLandDriver. Every landing is one `BEGIN IMMEDIATE … COMMIT` that runs synchronously end to end: the
 * connection is shared with the queue store in this process, so no other code may run while
 * the transaction is open (an `await` would let it). The only exception is the `onStaged`
 * test hook. A crash before COMMIT leaves the file as it was: SQLite rolls the transaction
 * back on the next open.
 */
export class SqliteDataStore implements DataStore {
  readonly backend = 'sqlite' as const;
  private readonly d: Dialect = { kind: 'sqlite', table: (name) => quoteIdent(name) };
  private schemaReady = false;
  private readonly known = new Map<string, { signature: string; sql: DatasetSql }>();
  /** Serializes landings of this instance (only matters while an onStaged hook awaits). */
  private chain: Promise<unknown> = Promise.resolve();

  private readonly driver: SqliteLandDriver;

  constructor(private readonly db: DB) {
    this.driver = new SqliteLandDriver(db);
  }

  async ensureSchema(): Promise<void> {
    this.ensureSchemaSync();
  }

  private ensureSchemaSync(): void {
    if (this.schemaReady) return;
    this.db.transaction(() => {
      for (const sql of sharedDdl(this.d)) this.db.prepare(sql).run();
    }).immediate();
    this.schemaReady = true;
  }

  async ensureDataset(ds: Dataset): Promise<void> {
    this.datasetSql(ds);
  }

  /** Creates (or checks) the dataset's tables; returns its SQL. */
  private datasetSql(ds: Dataset): DatasetSql {
    validateDataset(ds);
    const { table } = datasetTables(ds);
    const signature = datasetSignature(ds);
    const cached = this.known.get(table);
    if (cached) {
      if (cached.signature !== signature) throw mismatch(ds, table, cached.signature);
      return cached.sql;
    }
    this.ensureSchemaSync();
    const sql = datasetSql(this.d, ds);
    this.db.transaction(() => {
      const existing = this.db.prepare(`SELECT definition FROM datasets WHERE table_name = ?`).pluck().get(table) as string | undefined;
      if (existing !== undefined && existing !== signature) throw mismatch(ds, table, existing);
      for (const stmt of sql.ddl) this.db.prepare(stmt).run();
      if ((this.db.prepare(firstLayoutProbe(this.d)).get(table) as { n: number }).n > 0) for (const stmt of sql.upgrade) this.db.prepare(stmt).run();
      if (existing === undefined) {
        this.db.prepare(`INSERT INTO datasets (table_name, domain, dataset, definition, created_at) VALUES (?, ?, ?, ?, ?)`).run(table, ds.domain, ds.name, signature, Date.now());
      }
    }).immediate();
    this.known.set(table, { signature, sql });
    return sql;
  }

  async land(ds: Dataset, input: LandInput): Promise<LandResult> {
    const sql = this.datasetSql(ds);
    // Landings of this instance go one at a time: only an awaiting onStaged hook could
    // otherwise let a second BEGIN in while the first is open.
    const run = () => landWith(this.driver, ds, sql, input);
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private latestCaptureSync(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): CaptureRecord | null {
    this.ensureSchemaSync();
    const row = this.db
      .prepare(
        `SELECT * FROM captures WHERE domain = ? AND partition_key = ? AND stage = ? AND (CAST(? AS TEXT) IS NULL OR status = ?)
         ORDER BY captured_at DESC, seq DESC LIMIT 1`,
      )
      .get(domain, partitionKey, stage, status ?? null, status ?? null) as SqliteCaptureRow | undefined;
    return row ? sqliteCapture(row) : null;
  }

  async latestCapture(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): Promise<CaptureRecord | null> {
    return this.latestCaptureSync(domain, partitionKey, stage, status);
  }

  private readRows(ds: Dataset, sqlText: string, params: unknown[]): DataRow[] {
    const rows = this.db.prepare(sqlText).all(...params) as Record<string, DataValue>[];
    const bools = ds.columns.filter((c) => c.type === 'boolean').map((c) => c.name);
    if (bools.length) for (const r of rows) for (const b of bools) if (r[b] !== null) r[b] = r[b] === 1;
    return rows;
  }

  private whereSql(ds: Dataset, sql: DatasetSql, where: Where | undefined): { text: string; params: (string | number | null)[] } {
    const pairs = validateWhere(ds, where);
    return { text: pairs.map(([k]) => ` AND ${sql.filterColumn(k)} = ?`).join(''), params: pairs.map(([, v]) => bindSqlite(v)) };
  }

  async latest(ds: Dataset, options: ReadOptions = {}): Promise<DataRow[]> {
    const sql = this.datasetSql(ds);
    const w = this.whereSql(ds, sql, options.where);
    return this.readRows(
      ds,
      `${sql.selectFrom} JOIN manifest AS m ON m.capture_id = cap.capture_id WHERE m.domain = ? AND m.dataset = ?${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, ...w.params],
    );
  }

  async asOf(ds: Dataset, ref: AsOfRef, where?: Where): Promise<DataRow[]> {
    const sql = this.datasetSql(ds);
    const w = this.whereSql(ds, sql, where);
    if (ref && 'capture_id' in ref) {
      const row = this.db.prepare(`SELECT * FROM captures WHERE capture_id = ?`).get(ref.capture_id) as SqliteCaptureRow | undefined;
      checkCaptureRef(ds, ref.capture_id, row ? sqliteCapture(row) : null);
      return this.readRows(ds, `${sql.selectFrom} WHERE cap.capture_id = ?${w.text} ${sql.orderBy}`, [ref.capture_id, ...w.params]);
    }
    const at = checkAt(ref);
    return this.readRows(
      ds,
      `${asOfCapturesCte(this.d)} ${sql.selectFrom} JOIN c ON c.seq = d.capture_seq AND c.rn = 1 WHERE 1 = 1${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, at.getTime(), ...w.params],
    );
  }

  async listCaptures(filter: CaptureFilter): Promise<CaptureRecord[]> {
    this.ensureSchemaSync();
    if (!filter || typeof filter.domain !== 'string') throw new ValidationError('domain', filter?.domain, 'be given');
    const { text, params } = captureFilters(filter);
    const rows = this.db.prepare(`SELECT * FROM captures WHERE 1 = 1${text} ORDER BY captured_at, seq`).all(...params) as SqliteCaptureRow[];
    return rows.map(sqliteCapture);
  }

  async manifest(filter: ManifestFilter = {}): Promise<ManifestEntry[]> {
    this.ensureSchemaSync();
    const { text, params } = manifestFilters(filter);
    const rows = this.db.prepare(`SELECT * FROM manifest WHERE 1 = 1${text} ORDER BY domain, stage, partition_key`).all(...params) as ManifestRow[];
    return rows.map(toManifest);
  }

  async completion(request: CompletionRequest): Promise<CompletionReport> {
    this.ensureSchemaSync();
    const wanted = completionCells(request);
    const get = this.db.prepare(`SELECT * FROM manifest WHERE domain = ? AND partition_key = ? AND stage = ?`);
    const cells: CompletionCell[] = wanted.map((w) => {
      const m = get.get(w.domain, w.partition_key, w.stage) as ManifestRow | undefined;
      return m
        ? { ...w, status: 'in', dataset: m.dataset, capture_id: m.capture_id, row_count: m.row_count, captured_at: new Date(m.captured_at), updated_at: new Date(m.updated_at) }
        : { ...w, status: 'missing', dataset: null, capture_id: null, row_count: null, captured_at: null, updated_at: null };
    });
    return completionReport(cells);
  }

  async anomalies(filter: AnomalyFilter = {}): Promise<DataAnomaly[]> {
    this.ensureSchemaSync();
    const { text, params } = anomalyFilters(filter);
    const rows = this.db.prepare(`SELECT * FROM anomalies WHERE 1 = 1${text} ORDER BY id`).all(...params) as AnomalyRow[];
    return rows.map(toAnomaly);
  }

  async rejects(captureId: string): Promise<RejectRecord[]> {
    this.ensureSchemaSync();
    return this.db.prepare(`SELECT capture_id, line, reason, raw FROM rejects WHERE capture_id = ? ORDER BY line, id`).all(captureId) as RejectRecord[];
  }
}

