import type pg from 'pg';
import type { DataAnomaly } from './anomaly-checks.js';
import { mismatch, type LandInput, type LandResult, type ManifestEntry } from './data-store.js';
import { anomalyText, type AnomalyRowOf } from './row-common.js';
import { datasetSignature, datasetTables, quoteIdent, validateDataset, type DataValue, type Dataset } from './dataset.js';
import { PgLandDriver, pgCapture, type PgCaptureRow } from './drivers/pg-land.js';
import { landWith } from './land.js';
import { SqlDataStore, type WantedCell } from './sql-data-store.js';
import { datasetSql, firstLayoutProbe, sharedDdl, toPgParams, type DatasetSql, type Dialect } from './sql.js';
import { withClient, withTransaction } from '../store/postgres/transaction.js';

type AnomalyRow = AnomalyRowOf<string, Record<string, unknown> | null, Date>;

/**
 * The data layer on the PostgreSQL store's pool, in the store's schema.
 *
 * A landing is the shared algorithm of land.ts over PgLandDriver: one transaction on one
 * pooled connection, rows through COPY, an advisory lock per (schema, domain, partition).
 * If the client dies before COMMIT, the server rolls the whole landing back.
 */
export class PgDataStore extends SqlDataStore<{ capture: PgCaptureRow; manifest: ManifestEntry; anomaly: AnomalyRow }> {
  readonly backend = 'postgres' as const;
  private readonly q: string;
  protected readonly d: Dialect;
  protected readonly manifestOrder = 'domain COLLATE "C", stage COLLATE "C", partition_key COLLATE "C"';
  private schemaReady: Promise<void> | null = null;
  private readonly known = new Map<string, { signature: string; sql: DatasetSql; ready: Promise<void> }>();

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    super();
    this.q = quoteIdent(schema, 'schema');
    this.d = { kind: 'postgres', table: (name) => `${this.q}.${quoteIdent(name)}` };
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    client: pg.Pool | pg.PoolClient,
    text: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
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

  protected async datasetSql(ds: Dataset): Promise<DatasetSql> {
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
            await this.query(c, `INSERT INTO ${this.t('datasets')} (table_name, domain, dataset, definition, created_at) VALUES (?, ?, ?, ?, now())`, [
              table,
              ds.domain,
              ds.name,
              signature,
            ]);
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

  protected async all<R>(text: string, params: readonly unknown[]): Promise<R[]> {
    return (await this.query<R & pg.QueryResultRow>(this.pool, text, [...params])).rows;
  }

  protected bind(value: DataValue): unknown {
    return value;
  }

  protected bindInstant(at: Date): unknown {
    return at;
  }

  /** `bigint` comes back as text (it may exceed 2^53); dataset integers are numbers. */
  protected fixRows(ds: Dataset, rows: Record<string, DataValue>[]): void {
    const ints = ds.columns.filter((col) => col.type === 'integer').map((col) => col.name);
    if (ints.length) for (const r of rows) for (const k of ints) if (r[k] !== null) r[k] = Number(r[k]);
  }

  protected toCapture(row: PgCaptureRow) {
    return pgCapture(row);
  }

  protected toManifest(row: ManifestEntry): ManifestEntry {
    return row;
  }

  protected toAnomaly(row: AnomalyRow): DataAnomaly {
    return { ...anomalyText(row), id: Number(row.id), detail: row.detail ?? {}, recorded_at: row.recorded_at };
  }

  /** One query for all cells: the wanted triples as arrays, joined to the manifest. */
  protected async manifestEntriesOf(wanted: readonly WantedCell[]): Promise<(ManifestEntry | undefined)[]> {
    const rows = await this.all<ManifestEntry>(
      `SELECT m.* FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[])) AS w(domain, partition_key, stage)
       JOIN ${this.t('manifest')} AS m USING (domain, partition_key, stage)`,
      [wanted.map((w) => w.domain), wanted.map((w) => w.partition_key), wanted.map((w) => w.stage)],
    );
    const found = new Map(rows.map((m) => [JSON.stringify([m.domain, m.stage, m.partition_key]), m]));
    return wanted.map((w) => found.get(JSON.stringify([w.domain, w.stage, w.partition_key])));
  }
}
