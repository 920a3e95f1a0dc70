import { ValidationError } from '../core/errors.js';
import type { DataAnomaly } from './anomaly-checks.js';
import {
  checkAt,
  checkCaptureRef,
  completionCells,
  completionReport,
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
import { anomalyFilters, captureFilters, manifestFilters } from './row-common.js';
import { validateWhere, type DataRow, type DataValue, type Dataset } from './dataset.js';
import { asOfCapturesCte, type DatasetSql, type Dialect } from './sql.js';

/** One (domain, stage, partition) a completion request asks about. */
export type WantedCell = ReturnType<typeof completionCells>[number];

/** The rows of one backend as its driver returns them, before they become records. */
export interface BackendRows {
  capture: object;
  manifest: object;
  anomaly: object;
}

/**
 * The reads of the data layer, one SQL text each, for both backends: a backend says how to
 * run a query and how its rows and parameters differ (instants, booleans, 64-bit integers),
 * and everything else — which rows a read means and in what order — is written here once.
 * Landing is land.ts over the backend's LandDriver; DDL and dataset registration stay in each
 * backend (PostgreSQL serializes them across processes, SQLite within one transaction).
 */
export abstract class SqlDataStore<Rows extends BackendRows> implements DataStore {
  abstract readonly backend: 'sqlite' | 'postgres';
  protected abstract readonly d: Dialect;
  /** `ORDER BY` of `manifest()`: the same byte order on both (SQLite's default is binary). */
  protected abstract readonly manifestOrder: string;

  abstract ensureSchema(): Promise<void>;
  abstract ensureDataset(ds: Dataset): Promise<void>;
  abstract land(ds: Dataset, input: LandInput): Promise<LandResult>;

  /** Creates (or checks) the dataset's tables once per instance; returns its SQL. */
  protected abstract datasetSql(ds: Dataset): DatasetSql | Promise<DatasetSql>;
  /** Runs one read (`?` placeholders). */
  protected abstract all<R>(text: string, params: readonly unknown[]): R[] | Promise<R[]>;
  /** A row value or `where` value as the driver binds it. */
  protected abstract bind(value: DataValue): unknown;
  /** An instant as the backend stores it. */
  protected abstract bindInstant(at: Date): unknown;
  /** Data rows as the backend returns them, converted in place to DataValues of the dataset's types. */
  protected abstract fixRows(ds: Dataset, rows: Record<string, DataValue>[]): void;
  /** The manifest entry of each wanted cell, in the same order (undefined where there is none). */
  protected abstract manifestEntriesOf(wanted: readonly WantedCell[]): Promise<(ManifestEntry | undefined)[]>;
  protected abstract toCapture(row: Rows['capture']): CaptureRecord;
  protected abstract toManifest(row: Rows['manifest']): ManifestEntry;
  protected abstract toAnomaly(row: Rows['anomaly']): DataAnomaly;

  protected t(name: string): string {
    return this.d.table(name);
  }

  private async readRows(ds: Dataset, text: string, params: readonly unknown[]): Promise<DataRow[]> {
    const rows = await this.all<Record<string, DataValue>>(text, params);
    this.fixRows(ds, rows);
    return rows;
  }

  private whereSql(ds: Dataset, sql: DatasetSql, where: Where | undefined): { text: string; params: unknown[] } {
    const pairs = validateWhere(ds, where);
    return { text: pairs.map(([k]) => ` AND ${sql.filterColumn(k)} = ?`).join(''), params: pairs.map(([, v]) => this.bind(v)) };
  }

  async latestCapture(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): Promise<CaptureRecord | null> {
    await this.ensureSchema();
    const rows = await this.all<Rows['capture']>(
      `SELECT * FROM ${this.t('captures')} WHERE domain = ? AND partition_key = ? AND stage = ? AND (CAST(? AS TEXT) IS NULL OR status = ?)
       ORDER BY captured_at DESC, seq DESC LIMIT 1`,
      [domain, partitionKey, stage, status ?? null, status ?? null],
    );
    return rows[0] ? this.toCapture(rows[0]) : null;
  }

  async latest(ds: Dataset, options: ReadOptions = {}): Promise<DataRow[]> {
    const sql = await this.datasetSql(ds);
    const w = this.whereSql(ds, sql, options.where);
    return this.readRows(
      ds,
      `${sql.selectFrom} JOIN ${this.t('manifest')} AS m ON m.capture_id = cap.capture_id WHERE m.domain = ? AND m.dataset = ?${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, ...w.params],
    );
  }

  async asOf(ds: Dataset, ref: AsOfRef, where?: Where): Promise<DataRow[]> {
    const sql = await this.datasetSql(ds);
    const w = this.whereSql(ds, sql, where);
    if (ref && 'capture_id' in ref) {
      const rows = await this.all<Rows['capture']>(`SELECT * FROM ${this.t('captures')} WHERE capture_id = ?`, [ref.capture_id]);
      checkCaptureRef(ds, ref.capture_id, rows[0] ? this.toCapture(rows[0]) : null);
      return this.readRows(ds, `${sql.selectFrom} WHERE cap.capture_id = ?${w.text} ${sql.orderBy}`, [ref.capture_id, ...w.params]);
    }
    const at = checkAt(ref);
    return this.readRows(ds, `${asOfCapturesCte(this.d)} ${sql.selectFrom} JOIN c ON c.seq = d.capture_seq AND c.rn = 1 WHERE 1 = 1${w.text} ${sql.orderBy}`, [
      ds.domain,
      ds.name,
      this.bindInstant(at),
      ...w.params,
    ]);
  }

  async listCaptures(filter: CaptureFilter): Promise<CaptureRecord[]> {
    await this.ensureSchema();
    if (!filter || typeof filter.domain !== 'string') throw new ValidationError('domain', filter?.domain, 'be given');
    const { text, params } = captureFilters(filter);
    const rows = await this.all<Rows['capture']>(`SELECT * FROM ${this.t('captures')} WHERE 1 = 1${text} ORDER BY captured_at, seq`, params);
    return rows.map((r) => this.toCapture(r));
  }

  async manifest(filter: ManifestFilter = {}): Promise<ManifestEntry[]> {
    await this.ensureSchema();
    const { text, params } = manifestFilters(filter);
    const rows = await this.all<Rows['manifest']>(`SELECT * FROM ${this.t('manifest')} WHERE 1 = 1${text} ORDER BY ${this.manifestOrder}`, params);
    return rows.map((r) => this.toManifest(r));
  }

  async completion(request: CompletionRequest): Promise<CompletionReport> {
    await this.ensureSchema();
    const wanted = completionCells(request);
    const found = await this.manifestEntriesOf(wanted);
    const cells: CompletionCell[] = wanted.map((w, i) => {
      const m = found[i];
      return m
        ? { ...w, status: 'in', dataset: m.dataset, capture_id: m.capture_id, row_count: m.row_count, captured_at: m.captured_at, updated_at: m.updated_at }
        : { ...w, status: 'missing', dataset: null, capture_id: null, row_count: null, captured_at: null, updated_at: null };
    });
    return completionReport(cells);
  }

  async anomalies(filter: AnomalyFilter = {}): Promise<DataAnomaly[]> {
    await this.ensureSchema();
    const { text, params } = anomalyFilters(filter);
    const rows = await this.all<Rows['anomaly']>(`SELECT * FROM ${this.t('anomalies')} WHERE 1 = 1${text} ORDER BY id`, params);
    return rows.map((r) => this.toAnomaly(r));
  }

  async rejects(captureId: string): Promise<RejectRecord[]> {
    await this.ensureSchema();
    return this.all<RejectRecord>(`SELECT capture_id, line, reason, raw FROM ${this.t('rejects')} WHERE capture_id = ? ORDER BY line, id`, [captureId]);
  }
}
