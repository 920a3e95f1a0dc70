import type { Database as DB } from 'better-sqlite3';
import type { DataAnomaly } from './anomaly-checks.js';
import { mismatch, type LandInput, type LandResult, type ManifestEntry } from './data-store.js';
import { anomalyText, type AnomalyRowOf } from './row-common.js';
import { datasetSignature, datasetTables, quoteIdent, validateDataset, type DataValue, type Dataset } from './dataset.js';
import { SqliteLandDriver, bindSqlite, sqliteCapture, type SqliteCaptureRow } from './drivers/sqlite-land.js';
import { landWith } from './land.js';
import { SqlDataStore, type WantedCell } from './sql-data-store.js';
import { datasetSql, firstLayoutProbe, sharedDdl, type DatasetSql, type Dialect } from './sql.js';

/** A manifest row with its instants in ms. */
type ManifestRow = Omit<ManifestEntry, 'captured_at' | 'updated_at'> & { captured_at: number; updated_at: number };

type AnomalyRow = AnomalyRowOf<number, string | null, number>;

/**
 * The data layer on the store's own better-sqlite3 connection (same file, same WAL).
 *
 * Landing is the shared algorithm of land.ts over SqliteLandDriver. Every landing is one `BEGIN IMMEDIATE … COMMIT` that runs synchronously end to end: the
 * connection is shared with the queue store in this process, so no other code may run while
 * the transaction is open (an `await` would let it). The only exception is the `onStaged`
 * test hook. A crash before COMMIT leaves the file as it was: SQLite rolls the transaction
 * back on the next open.
 */
export class SqliteDataStore extends SqlDataStore<{ capture: SqliteCaptureRow; manifest: ManifestRow; anomaly: AnomalyRow }> {
  readonly backend = 'sqlite' as const;
  protected readonly d: Dialect = { kind: 'sqlite', table: (name) => quoteIdent(name) };
  protected readonly manifestOrder = 'domain, stage, partition_key';
  private schemaReady = false;
  private readonly known = new Map<string, { signature: string; sql: DatasetSql }>();
  /** Serializes landings of this instance (only matters while an onStaged hook awaits). */
  private chain: Promise<unknown> = Promise.resolve();

  private readonly driver: SqliteLandDriver;

  constructor(private readonly db: DB) {
    super();
    this.driver = new SqliteLandDriver(db);
  }

  async ensureSchema(): Promise<void> {
    this.ensureSchemaSync();
  }

  private ensureSchemaSync(): void {
    if (this.schemaReady) return;
    this.db
      .transaction(() => {
        for (const sql of sharedDdl(this.d)) this.db.prepare(sql).run();
      })
      .immediate();
    this.schemaReady = true;
  }

  async ensureDataset(ds: Dataset): Promise<void> {
    this.datasetSql(ds);
  }

  /** Creates (or checks) the dataset's tables; returns its SQL. */
  protected datasetSql(ds: Dataset): DatasetSql {
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
    this.db
      .transaction(() => {
        const existing = this.db.prepare(`SELECT definition FROM datasets WHERE table_name = ?`).pluck().get(table) as string | undefined;
        if (existing !== undefined && existing !== signature) throw mismatch(ds, table, existing);
        for (const stmt of sql.ddl) this.db.prepare(stmt).run();
        if ((this.db.prepare(firstLayoutProbe(this.d)).get(table) as { n: number }).n > 0) for (const stmt of sql.upgrade) this.db.prepare(stmt).run();
        if (existing === undefined) {
          this.db
            .prepare(`INSERT INTO datasets (table_name, domain, dataset, definition, created_at) VALUES (?, ?, ?, ?, ?)`)
            .run(table, ds.domain, ds.name, signature, Date.now());
        }
      })
      .immediate();
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

  /** Synchronous, like every statement on this connection (see the class comment). */
  protected all<R>(text: string, params: readonly unknown[]): R[] {
    return this.db.prepare(text).all(...params) as R[];
  }

  protected bind(value: DataValue): unknown {
    return bindSqlite(value);
  }

  protected bindInstant(at: Date): unknown {
    return at.getTime();
  }

  /** SQLite has no boolean type: booleans are stored as 0/1. */
  protected fixRows(ds: Dataset, rows: Record<string, DataValue>[]): void {
    const bools = ds.columns.filter((c) => c.type === 'boolean').map((c) => c.name);
    if (bools.length) for (const r of rows) for (const b of bools) if (r[b] !== null) r[b] = r[b] === 1;
  }

  protected toCapture(row: SqliteCaptureRow) {
    return sqliteCapture(row);
  }

  protected toManifest(r: ManifestRow): ManifestEntry {
    return { ...r, captured_at: new Date(r.captured_at), updated_at: new Date(r.updated_at) };
  }

  protected toAnomaly(r: AnomalyRow): DataAnomaly {
    return {
      ...anomalyText(r),
      id: r.id,
      detail: r.detail === null ? {} : (JSON.parse(r.detail) as Record<string, unknown>),
      recorded_at: new Date(r.recorded_at),
    };
  }

  /** One prepared lookup per cell: SQLite in-process lookups are cheap and need no array binding. */
  protected async manifestEntriesOf(wanted: readonly WantedCell[]): Promise<(ManifestEntry | undefined)[]> {
    const get = this.db.prepare(`SELECT * FROM manifest WHERE domain = ? AND partition_key = ? AND stage = ?`);
    return wanted.map((w) => {
      const m = get.get(w.domain, w.partition_key, w.stage) as ManifestRow | undefined;
      return m ? this.toManifest(m) : undefined;
    });
  }
}
