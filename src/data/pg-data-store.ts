import type pg from 'pg';
import { ValidationError } from '../core/errors.js';
import type { DataAnomaly } from './anomaly-checks.js';
import {
  checkAt,
  checkCaptureRef,
  completionCells,
  completionReport,
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
import { PgLandDriver, pgCapture, type PgCaptureRow } from './drivers/pg-land.js';
import { landWith } from './land.js';
import { asOfCapturesCte, datasetSql, firstLayoutProbe, sharedDdl, toPgParams, type DatasetSql, type Dialect } from './sql.js';
import { withClient, withTransaction } from '../store/postgres/transaction.js';

type AnomalyRow = AnomalyRowOf<string, Record<string, unknown> | null, Date>;

const toAnomaly = (r: AnomalyRow): DataAnomaly => ({ ...anomalyText(r), id: Number(r.id), detail: r.detail ?? {}, recorded_at: r.recorded_at });

/**
 * The data layer on the PostgreSQL store's pool, in the store's schema.
 *
 * A landing is the shared algorithm of land.ts over PgLandDriver: one transaction on one
 * pooled connection, rows through COPY, an advisory lock per (schema, domain, partition).
 * If the client dies before COMMIT, the server rolls the whole landing back.
 */
export class PgDataStore implements DataStore {
  readonly backend = 'postgres' as const;
  private readonly q: string;
  private readonly d: Dialect;
  private schemaReady: Promise<void> | null = null;
  private readonly known = new Map<string, { signature: string; sql: DatasetSql; ready: Promise<void> }>();

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    this.q = quoteIdent(schema, 'schema');
    this.d = { kind: 'postgres', table: (name) => `${this.q}.${quoteIdent(name)}` };
  }

  private t(name: string): string {
    return this.d.table(name);
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(client: pg.Pool | pg.PoolClient, text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return client.query<R>(toPgParams(text), params);
  }

  private tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }

  /** DDL of this schema is serialized across processes by one advisory lock. */
  private lockDdl(client: pg.PoolClient): Promise<unknown> {
    return client.query(`SELECT pg_advisory_xact_lock(hashtext('sluice:data:ddl:' || $1::text))`, [this.schema]);
  }

  ensureSchema(): Promise<void> {
    this.schemaReady ??= this.tx(async (c) => {
      await this.lockDdl(c);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.q}`);
      for (const stmt of sharedDdl(this.d)) await c.query(stmt);
    }).catch((err) => {
      this.schemaReady = null;
      throw err;
    });
    return this.schemaReady;
  }

  async ensureDataset(ds: Dataset): Promise<void> {
    await this.datasetSql(ds);
  }

  private async datasetSql(ds: Dataset): Promise<DatasetSql> {
    validateDataset(ds);
    const { table } = datasetTables(ds);
    const signature = datasetSignature(ds);
    let entry = this.known.get(table);
    if (entry && entry.signature !== signature) throw mismatch(ds, table, entry.signature);
    if (!entry) {
      const sql = datasetSql(this.d, ds);
      const ready = (async () => {
        await this.ensureSchema();
        await this.tx(async (c) => {
          await this.lockDdl(c);
          const { rows } = await this.query<{ definition: string }>(c, `SELECT definition FROM ${this.t('datasets')} WHERE table_name = ?`, [table]);
          const existing = rows[0]?.definition;
          if (existing !== undefined && existing !== signature) throw mismatch(ds, table, existing);
          for (const stmt of sql.ddl) await c.query(stmt);
          const layout = await this.query<{ n: number }>(c, firstLayoutProbe(this.d), [this.schema, table]);
          if (layout.rows[0]!.n > 0) for (const stmt of sql.upgrade) await c.query(stmt);
          if (existing === undefined) {
            await this.query(c, `INSERT INTO ${this.t('datasets')} (table_name, domain, dataset, definition, created_at) VALUES (?, ?, ?, ?, now())`, [table, ds.domain, ds.name, signature]);
          }
        });
      })();
      entry = { signature, sql, ready };
      this.known.set(table, entry);
      ready.catch(() => {
        if (this.known.get(table) === entry) this.known.delete(table);
      });
    }
    await entry.ready;
    return entry.sql;
  }

  async land(ds: Dataset, input: LandInput): Promise<LandResult> {
    const sql = await this.datasetSql(ds);
    return withClient(this.pool, (client) => landWith(new PgLandDriver(client, this.schema), ds, sql, input));
  }

  async latestCapture(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): Promise<CaptureRecord | null> {
    await this.ensureSchema();
    const { rows } = await this.query<PgCaptureRow>(
      this.pool,
      `SELECT * FROM ${this.t('captures')} WHERE domain = ? AND partition_key = ? AND stage = ? AND (CAST(? AS TEXT) IS NULL OR status = ?)
       ORDER BY captured_at DESC, seq DESC LIMIT 1`,
      [domain, partitionKey, stage, status ?? null, status ?? null],
    );
    return rows[0] ? pgCapture(rows[0]) : null;
  }

  private async readRows(ds: Dataset, text: string, params: unknown[]): Promise<DataRow[]> {
    const { rows } = await this.query<Record<string, DataValue>>(this.pool, text, params);
    const ints = ds.columns.filter((col) => col.type === 'integer').map((col) => col.name);
    if (ints.length) for (const r of rows) for (const k of ints) if (r[k] !== null) r[k] = Number(r[k]);
    return rows;
  }

  private whereSql(ds: Dataset, sql: DatasetSql, where: Where | undefined): { text: string; params: DataValue[] } {
    const pairs = validateWhere(ds, where);
    return { text: pairs.map(([k]) => ` AND ${sql.filterColumn(k)} = ?`).join(''), params: pairs.map(([, v]) => v) };
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
      const { rows } = await this.query<PgCaptureRow>(this.pool, `SELECT * FROM ${this.t('captures')} WHERE capture_id = ?`, [ref.capture_id]);
      checkCaptureRef(ds, ref.capture_id, rows[0] ? pgCapture(rows[0]) : null);
      return this.readRows(ds, `${sql.selectFrom} WHERE cap.capture_id = ?${w.text} ${sql.orderBy}`, [ref.capture_id, ...w.params]);
    }
    const at = checkAt(ref);
    return this.readRows(
      ds,
      `${asOfCapturesCte(this.d)} ${sql.selectFrom} JOIN c ON c.seq = d.capture_seq AND c.rn = 1 WHERE 1 = 1${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, at, ...w.params],
    );
  }

  async listCaptures(filter: CaptureFilter): Promise<CaptureRecord[]> {
    await this.ensureSchema();
    if (!filter || typeof filter.domain !== 'string') throw new ValidationError('domain', filter?.domain, 'be given');
    const { text, params } = captureFilters(filter);
    const { rows } = await this.query<PgCaptureRow>(this.pool, `SELECT * FROM ${this.t('captures')} WHERE 1 = 1${text} ORDER BY captured_at, seq`, params);
    return rows.map(pgCapture);
  }

  async manifest(filter: ManifestFilter = {}): Promise<ManifestEntry[]> {
    await this.ensureSchema();
    const { text, params } = manifestFilters(filter);
    const { rows } = await this.query<ManifestEntry>(
      this.pool,
      `SELECT * FROM ${this.t('manifest')} WHERE 1 = 1${text} ORDER BY domain COLLATE "C", stage COLLATE "C", partition_key COLLATE "C"`,
      params,
    );
    return rows;
  }

  async completion(request: CompletionRequest): Promise<CompletionReport> {
    await this.ensureSchema();
    const wanted = completionCells(request);
    const { rows } = await this.query<ManifestEntry>(
      this.pool,
      `SELECT m.* FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[])) AS w(domain, partition_key, stage)
       JOIN ${this.t('manifest')} AS m USING (domain, partition_key, stage)`,
      [wanted.map((w) => w.domain), wanted.map((w) => w.partition_key), wanted.map((w) => w.stage)],
    );
    const found = new Map(rows.map((m) => [JSON.stringify([m.domain, m.stage, m.partition_key]), m]));
    const cells: CompletionCell[] = wanted.map((w) => {
      const m = found.get(JSON.stringify([w.domain, w.stage, w.partition_key]));
      return m
        ? { ...w, status: 'in', dataset: m.dataset, capture_id: m.capture_id, row_count: m.row_count, captured_at: m.captured_at, updated_at: m.updated_at }
        : { ...w, status: 'missing', dataset: null, capture_id: null, row_count: null, captured_at: null, updated_at: null };
    });
    return completionReport(cells);
  }

  async anomalies(filter: AnomalyFilter = {}): Promise<DataAnomaly[]> {
    await this.ensureSchema();
    const { text, params } = anomalyFilters(filter);
    const { rows } = await this.query<AnomalyRow>(this.pool, `SELECT * FROM ${this.t('anomalies')} WHERE 1 = 1${text} ORDER BY id`, params);
    return rows.map(toAnomaly);
  }

  async rejects(captureId: string): Promise<RejectRecord[]> {
    await this.ensureSchema();
    const { rows } = await this.query<RejectRecord>(this.pool, `SELECT capture_id, line, reason, raw FROM ${this.t('rejects')} WHERE capture_id = ? ORDER BY line, id`, [captureId]);
    return rows;
  }
}
