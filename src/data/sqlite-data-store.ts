import type { Database as DB } from 'better-sqlite3';
import { ValidationError } from '../core/errors.js';
import type { RevisionSummary } from '../core/run-result.js';
import { evaluateChecks, normalizeChecks, previousPartitionKey, type DataAnomaly, type NormalizedCheck } from './anomaly-checks.js';
import {
  completionCells,
  completionReport,
  normalizeLandInput,
  planCapture,
  priorCapture,
  sqlLength,
  captureIdBase,
  checkAt,
  checkCaptureRef,
  filters,
  mismatch,
  skipped,
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
  type NormalizedLand,
  type ReadOptions,
  type RejectRecord,
  type ScopeCapture,
  type Where,
} from './data-store.js';
import {
  RowValidationError,
  datasetSignature,
  datasetTables,
  quoteIdent,
  validateDataset,
  validateRows,
  validateWhere,
  type DataRow,
  type DataValue,
  type Dataset,
  type ValidatedRows,
} from './dataset.js';
import { asOfCapturesCte, datasetSql, sharedDdl, type DatasetSql, type Dialect } from './sql.js';
import { crashPoint } from '../core/crash-points.js';

interface CaptureRow {
  capture_id: string;
  seq: number;
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  content_hash: string;
  row_count: number | null;
  captured_at: number;
  landed_at: number | null;
  source: string | null;
  status: 'landed' | 'failed';
  is_revision: number;
  revision_summary: string | null;
  error: string | null;
}

interface ManifestRow {
  domain: string;
  partition_key: string;
  stage: string;
  dataset: string;
  capture_id: string;
  row_count: number;
  content_hash: string;
  captured_at: number;
  updated_at: number;
}

interface AnomalyRow {
  id: number;
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  capture_id: string;
  check: string;
  severity: DataAnomaly['severity'];
  message: string;
  detail: string | null;
  recorded_at: number;
}

const toCapture = (r: CaptureRow): CaptureRecord => ({
  capture_id: r.capture_id,
  domain: r.domain,
  dataset: r.dataset,
  partition_key: r.partition_key,
  stage: r.stage,
  content_hash: r.content_hash,
  row_count: r.row_count,
  captured_at: new Date(r.captured_at),
  landed_at: r.landed_at === null ? null : new Date(r.landed_at),
  source: r.source,
  status: r.status,
  is_revision: r.is_revision === 1,
  revision_summary: r.revision_summary === null ? null : (JSON.parse(r.revision_summary) as RevisionSummary),
  error: r.error,
});

const toScope = (r: CaptureRow): ScopeCapture => ({
  capture_id: r.capture_id,
  dataset: r.dataset,
  stage: r.stage,
  status: r.status,
  content_hash: r.content_hash,
  captured_at: new Date(r.captured_at),
  seq: r.seq,
  row_count: r.row_count,
});

const toManifest = (r: ManifestRow): ManifestEntry => ({ ...r, captured_at: new Date(r.captured_at), updated_at: new Date(r.updated_at) });

const toAnomaly = (r: AnomalyRow): DataAnomaly => ({
  id: r.id,
  domain: r.domain,
  dataset: r.dataset,
  partition_key: r.partition_key,
  stage: r.stage,
  capture_id: r.capture_id,
  check: r.check,
  severity: r.severity,
  message: r.message,
  detail: r.detail === null ? {} : (JSON.parse(r.detail) as Record<string, unknown>),
  recorded_at: new Date(r.recorded_at),
});

/** better-sqlite3 binds no booleans. */
const bind = (v: DataValue): string | number | null => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

/**
 * The data layer on the store's own better-sqlite3 connection (same file, same WAL).
 *
 * A new capture's rows are written straight into the dataset table; staging and MERGE are
 * used when a landing replaces the rows of an existing capture (a forced re-run the same
 * day), where only the rows that differ are written.
 *
 * Every landing is one `BEGIN IMMEDIATE … COMMIT` that runs synchronously end to end: the
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

  constructor(private readonly db: DB) {}

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
      if (existing === undefined) {
        this.db.prepare(`INSERT INTO datasets (table_name, domain, dataset, definition, created_at) VALUES (?, ?, ?, ?, ?)`).run(table, ds.domain, ds.name, signature, Date.now());
      }
    }).immediate();
    this.known.set(table, { signature, sql });
    return sql;
  }

  async land(ds: Dataset, input: LandInput): Promise<LandResult> {
    const sql = this.datasetSql(ds);
    const n = normalizeLandInput(input);
    const checks = normalizeChecks(input.checks);
    if (!n.force) {
      const latest = this.latestCaptureSync(ds.domain, n.partitionKey, n.stage, 'landed');
      if (latest && latest.content_hash === n.contentHash) return skipped(ds, n, latest);
    }
    let rows: ValidatedRows;
    try {
      rows = validateRows(ds, input.rows, n.source ?? undefined);
    } catch (err) {
      if (err instanceof RowValidationError) this.recordFailure(ds, n, input.rows.length, err);
      throw err;
    }
    const run = () => this.landTx(ds, sql, n, checks, rows, input.onStaged);
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private relatedCaptures(ds: Dataset, n: NormalizedLand): { related: ScopeCapture[]; familyIds: string[] } {
    const related = (
      this.db
        .prepare(`SELECT * FROM captures WHERE domain = ? AND partition_key = ? AND (stage = ? OR dataset = ?)`)
        .all(ds.domain, n.partitionKey, n.stage, ds.name) as CaptureRow[]
    ).map(toScope);
    const base = captureIdBase(ds.domain, n.partitionKey, n.capturedAt);
    const familyIds = this.db.prepare(`SELECT capture_id FROM captures WHERE substr(capture_id, 1, ?) = ?`).pluck().all(sqlLength(base), base) as string[];
    return { related, familyIds };
  }

  private async landTx(
    ds: Dataset,
    sql: DatasetSql,
    n: NormalizedLand,
    checks: NormalizedCheck[],
    validated: ValidatedRows,
    onStaged: LandInput['onStaged'],
  ): Promise<LandResult> {
    const db = this.db;
    let stageDone = false;
    let captureId = '';
    let plan!: ReturnType<typeof planCapture>;
    db.prepare('BEGIN IMMEDIATE').run();
    try {
      // Re-read under the write lock: another process may have landed meanwhile.
      const { related, familyIds } = this.relatedCaptures(ds, n);
      plan = planCapture({ ds, partitionKey: n.partitionKey, stage: n.stage, hash: n.contentHash, capturedAt: n.capturedAt, related, familyIds });
      if (!n.force && plan.latestLanded && plan.latestLanded.content_hash === n.contentHash) {
        db.prepare('ROLLBACK').run();
        const latest = this.latestCaptureSync(ds.domain, n.partitionKey, n.stage, 'landed')!;
        return skipped(ds, n, latest);
      }
      captureId = plan.captureId;
      if (plan.reuse === null) {
        // A new capture has no rows yet: they go straight into the dataset table (the MERGE
        // of a new capture would insert every staged row), written once instead of three
        // times (staging, MERGE, staging emptied). The DELETE only guards the invariant.
        db.prepare(sql.deleteCapture).run(captureId);
        const insert = db.prepare(sql.insertRow);
        for (const row of validated.rows) insert.run(captureId, n.partitionKey, ...row.map(bind));
      } else {
        db.prepare(sql.deleteStaging).run(captureId);
        const insert = db.prepare(sql.insertStagingRow);
        for (const row of validated.rows) insert.run(captureId, ...row.map(bind));
      }
      stageDone = true;
    } catch (err) {
      if (db.inTransaction) db.prepare('ROLLBACK').run();
      throw err;
    }
    try {
      crashPoint('after_staging');
      if (onStaged) await onStaged();
      if (!db.inTransaction) throw new Error('the landing transaction ended while the onStaged hook ran');
      return this.mergeAndRecord(ds, sql, n, checks, validated, captureId, plan);
    } catch (err) {
      if (stageDone && db.inTransaction) db.prepare('ROLLBACK').run();
      throw err;
    }
  }

  /** Second half of the landing transaction (synchronous, ends with COMMIT). */
  private mergeAndRecord(
    ds: Dataset,
    sql: DatasetSql,
    n: NormalizedLand,
    checks: NormalizedCheck[],
    validated: ValidatedRows,
    captureId: string,
    plan: ReturnType<typeof planCapture>,
  ): LandResult {
    const db = this.db;
    const direct = plan.reuse === null;
    const prior = priorCapture(plan.scope, captureId);
    let summary: RevisionSummary | null = null;
    if (prior && prior.content_hash !== n.contentHash) {
      summary = db.prepare(direct ? sql.revisionWritten : sql.revision).get(...sql.revisionParams(captureId, prior.capture_id)) as RevisionSummary;
      summary = { rows_added: summary.rows_added, rows_removed: summary.rows_removed, rows_changed: summary.rows_changed };
    }
    let written = validated.rows.length;
    if (!direct) {
      written = db.prepare(sql.upsert).run(n.partitionKey, captureId).changes + db.prepare(sql.deleteMissing).run(captureId).changes;
      db.prepare(sql.deleteStaging).run(captureId);
    }

    const now = Date.now();
    const rowCount = validated.rows.length;
    const isRevision = summary !== null;
    if (plan.reuse) {
      db.prepare(
        `UPDATE captures SET status = 'landed', row_count = ?, landed_at = ?, source = ?, is_revision = ?, revision_summary = ?, error = NULL WHERE capture_id = ?`,
      ).run(rowCount, now, n.source, isRevision ? 1 : 0, summary && JSON.stringify(summary), captureId);
    } else {
      db.prepare(
        `INSERT INTO captures (capture_id, seq, domain, dataset, partition_key, stage, content_hash, row_count, captured_at, landed_at, source, status, is_revision, revision_summary, error)
         VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM captures), ?, ?, ?, ?, ?, ?, ?, ?, ?, 'landed', ?, ?, NULL)`,
      ).run(captureId, ds.domain, ds.name, n.partitionKey, n.stage, n.contentHash, rowCount, n.capturedAt.getTime(), now, n.source, isRevision ? 1 : 0, summary && JSON.stringify(summary));
    }
    const capturedAt = plan.reuse ? plan.reuse.captured_at : n.capturedAt;

    let previous: { partition_key: string; row_count: number } | null = null;
    const drop = checks.find((c) => c.check === 'row_count_drop');
    if (drop && drop.check === 'row_count_drop') {
      const others = db
        .prepare(`SELECT partition_key, row_count FROM manifest WHERE domain = ? AND stage = ? AND partition_key <> ?`)
        .all(ds.domain, n.stage, n.partitionKey) as { partition_key: string; row_count: number }[];
      const key = drop.previous ?? previousPartitionKey(n.partitionKey, others.map((o) => o.partition_key));
      previous = others.find((o) => o.partition_key === key) ?? null;
    }
    const drafts = evaluateChecks(
      { dataset: ds, partitionKey: n.partitionKey, rowCount, capturedAt, requiredNulls: validated.requiredNulls, previous, rejects: n.rejects },
      checks,
    );

    db.prepare(
      `INSERT INTO manifest (domain, partition_key, stage, dataset, capture_id, row_count, content_hash, captured_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (domain, partition_key, stage) DO UPDATE SET dataset = excluded.dataset, capture_id = excluded.capture_id,
         row_count = excluded.row_count, content_hash = excluded.content_hash, captured_at = excluded.captured_at, updated_at = excluded.updated_at`,
    ).run(ds.domain, n.partitionKey, n.stage, ds.name, captureId, rowCount, n.contentHash, capturedAt.getTime(), now);

    db.prepare(`DELETE FROM anomalies WHERE capture_id = ?`).run(captureId);
    db.prepare(`DELETE FROM rejects WHERE capture_id = ?`).run(captureId);
    const insA = db.prepare(
      `INSERT INTO anomalies (domain, dataset, partition_key, stage, capture_id, "check", severity, message, detail, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    );
    const anomalies: DataAnomaly[] = drafts.map((a) => {
      const { id } = insA.get(ds.domain, ds.name, n.partitionKey, n.stage, captureId, a.check, a.severity, a.message, JSON.stringify(a.detail), now) as { id: number };
      return { ...a, id, domain: ds.domain, dataset: ds.name, partition_key: n.partitionKey, stage: n.stage, capture_id: captureId, recorded_at: new Date(now) };
    });
    const insR = db.prepare(`INSERT INTO rejects (capture_id, line, reason, raw) VALUES (?, ?, ?, ?)`);
    for (const r of n.rejects) insR.run(captureId, r.line, r.reason, r.raw ?? null);

    crashPoint('in_capture_tx');
    db.prepare('COMMIT').run();
    return {
      status: 'landed',
      skipped: false,
      domain: ds.domain,
      dataset: ds.name,
      partition_key: n.partitionKey,
      stage: n.stage,
      capture_id: captureId,
      row_count: rowCount,
      is_revision: isRevision,
      revision_summary: summary,
      content_hash: n.contentHash,
      reason: null,
      rows_written: written,
      anomalies,
    };
  }

  /** A capture whose rows broke a rule: recorded as `failed`, nothing else written. */
  private recordFailure(ds: Dataset, n: NormalizedLand, rowCount: number, err: RowValidationError): void {
    try {
      this.db.transaction(() => {
        const { related, familyIds } = this.relatedCaptures(ds, n);
        const plan = planCapture({ ds, partitionKey: n.partitionKey, stage: n.stage, hash: n.contentHash, capturedAt: n.capturedAt, related, familyIds, forFailure: true });
        if (plan.reuse) {
          this.db.prepare(`UPDATE captures SET row_count = ?, source = ?, error = ? WHERE capture_id = ?`).run(rowCount, n.source, err.message, plan.captureId);
        } else {
          this.db
            .prepare(
              `INSERT INTO captures (capture_id, seq, domain, dataset, partition_key, stage, content_hash, row_count, captured_at, landed_at, source, status, is_revision, revision_summary, error)
               VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM captures), ?, ?, ?, ?, ?, ?, ?, NULL, ?, 'failed', 0, NULL, ?)`,
            )
            .run(plan.captureId, ds.domain, ds.name, n.partitionKey, n.stage, n.contentHash, rowCount, n.capturedAt.getTime(), n.source, err.message);
        }
        err.captureId = plan.captureId;
      }).immediate();
    } catch (recordErr) {
      // The row error is what the caller must see; a scope error here (e.g. wrong stage) is
      // reported by the next successful attempt's planning anyway.
      if (!(recordErr instanceof ValidationError)) throw recordErr;
    }
  }

  private latestCaptureSync(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): CaptureRecord | null {
    this.ensureSchemaSync();
    const row = this.db
      .prepare(
        `SELECT * FROM captures WHERE domain = ? AND partition_key = ? AND stage = ? AND (CAST(? AS TEXT) IS NULL OR status = ?)
         ORDER BY captured_at DESC, seq DESC LIMIT 1`,
      )
      .get(domain, partitionKey, stage, status ?? null, status ?? null) as CaptureRow | undefined;
    return row ? toCapture(row) : null;
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

  private whereSql(ds: Dataset, where: Where | undefined): { text: string; params: (string | number | null)[] } {
    const pairs = validateWhere(ds, where);
    return { text: pairs.map(([k]) => ` AND d.${quoteIdent(k)} = ?`).join(''), params: pairs.map(([, v]) => bind(v)) };
  }

  async latest(ds: Dataset, options: ReadOptions = {}): Promise<DataRow[]> {
    const sql = this.datasetSql(ds);
    const w = this.whereSql(ds, options.where);
    return this.readRows(
      ds,
      `${sql.selectFrom} JOIN manifest AS m ON m.capture_id = d.capture_id WHERE m.domain = ? AND m.dataset = ?${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, ...w.params],
    );
  }

  async asOf(ds: Dataset, ref: AsOfRef, where?: Where): Promise<DataRow[]> {
    const sql = this.datasetSql(ds);
    const w = this.whereSql(ds, where);
    if (ref && 'capture_id' in ref) {
      const row = this.db.prepare(`SELECT * FROM captures WHERE capture_id = ?`).get(ref.capture_id) as CaptureRow | undefined;
      checkCaptureRef(ds, ref.capture_id, row ? toCapture(row) : null);
      return this.readRows(ds, `${sql.selectFrom} WHERE d.capture_id = ?${w.text} ${sql.orderBy}`, [ref.capture_id, ...w.params]);
    }
    const at = checkAt(ref);
    return this.readRows(
      ds,
      `${asOfCapturesCte(this.d)} ${sql.selectFrom} JOIN c ON c.capture_id = d.capture_id AND c.rn = 1 WHERE 1 = 1${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, at.getTime(), ...w.params],
    );
  }

  async listCaptures(filter: CaptureFilter): Promise<CaptureRecord[]> {
    this.ensureSchemaSync();
    if (!filter || typeof filter.domain !== 'string') throw new ValidationError('domain', filter?.domain, 'be given');
    const { text, params } = filters([
      ['domain', filter.domain],
      ['partition_key', filter.partitionKey],
      ['dataset', filter.dataset],
      ['stage', filter.stage],
      ['status', filter.status],
    ]);
    const rows = this.db.prepare(`SELECT * FROM captures WHERE 1 = 1${text} ORDER BY captured_at, seq`).all(...params) as CaptureRow[];
    return rows.map(toCapture);
  }

  async manifest(filter: ManifestFilter = {}): Promise<ManifestEntry[]> {
    this.ensureSchemaSync();
    const { text, params } = filters([
      ['domain', filter.domain],
      ['partition_key', filter.partitionKey],
      ['stage', filter.stage],
      ['dataset', filter.dataset],
    ]);
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
    const { text, params } = filters([
      ['domain', filter.domain],
      ['partition_key', filter.partitionKey],
      ['stage', filter.stage],
      ['capture_id', filter.captureId],
      ['"check"', filter.check],
      ['severity', filter.severity],
    ]);
    const rows = this.db.prepare(`SELECT * FROM anomalies WHERE 1 = 1${text} ORDER BY id`).all(...params) as AnomalyRow[];
    return rows.map(toAnomaly);
  }

  async rejects(captureId: string): Promise<RejectRecord[]> {
    this.ensureSchemaSync();
    return this.db.prepare(`SELECT capture_id, line, reason, raw FROM rejects WHERE capture_id = ? ORDER BY line, id`).all(captureId) as RejectRecord[];
  }
}

