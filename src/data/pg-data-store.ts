import type pg from 'pg';
import { ValidationError } from '../core/errors.js';
import type { RevisionSummary } from '../core/run-result.js';
import { evaluateChecks, normalizeChecks, previousPartitionKey, type DataAnomaly, type NormalizedCheck } from './anomaly-checks.js';
import {
  captureIdBase,
  checkAt,
  checkCaptureRef,
  completionCells,
  completionReport,
  filters,
  mismatch,
  normalizeLandInput,
  planCapture,
  priorCapture,
  skipped,
  sqlLength,
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
  type ColumnType,
  type DataRow,
  type DataValue,
  type Dataset,
  type ValidatedRows,
} from './dataset.js';
import { asOfCapturesCte, datasetSql, sharedDdl, toPgParams, type DatasetSql, type Dialect } from './sql.js';
import { withTransaction } from '../store/postgres/transaction.js';
import { crashPoint } from '../core/crash-points.js';

/** A captures row as `pg` returns it: the record plus the per-day sequence behind `#2`, `#3`. */
interface CaptureRow extends CaptureRecord {
  seq: string;
}

interface AnomalyRow {
  id: string;
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  capture_id: string;
  check: string;
  severity: DataAnomaly['severity'];
  message: string;
  detail: Record<string, unknown> | null;
  recorded_at: Date;
}

const toCapture = (r: CaptureRow): CaptureRecord => ({
  capture_id: r.capture_id,
  domain: r.domain,
  dataset: r.dataset,
  partition_key: r.partition_key,
  stage: r.stage,
  content_hash: r.content_hash,
  row_count: r.row_count,
  captured_at: r.captured_at,
  landed_at: r.landed_at,
  source: r.source,
  status: r.status,
  is_revision: r.is_revision,
  revision_summary: r.revision_summary,
  error: r.error,
});

const toScope = (r: CaptureRow): ScopeCapture => ({
  capture_id: r.capture_id,
  dataset: r.dataset,
  stage: r.stage,
  status: r.status,
  content_hash: r.content_hash,
  captured_at: r.captured_at,
  seq: Number(r.seq),
  row_count: r.row_count,
});

const toAnomaly = (r: AnomalyRow): DataAnomaly => ({
  id: Number(r.id),
  domain: r.domain,
  dataset: r.dataset,
  partition_key: r.partition_key,
  stage: r.stage,
  capture_id: r.capture_id,
  check: r.check,
  severity: r.severity,
  message: r.message,
  detail: r.detail ?? {},
  recorded_at: r.recorded_at,
});

const ARRAY_TYPES: Record<ColumnType, string> = { text: 'text[]', integer: 'int8[]', real: 'float8[]', date: 'date[]', boolean: 'bool[]' };

/** Rows per INSERT … SELECT FROM unnest(…): one array parameter per column. */
const STAGING_CHUNK = 25_000;

/**
 * The data layer on the PostgreSQL store's pool, in the store's schema.
 *
 * A landing is one transaction on one pooled connection. It first takes a transaction-level
 * advisory lock on (schema, domain, partition), so two workers landing the same partition
 * queue up (capture ids are allocated per domain, partition and day) while other partitions
 * land in parallel. Staging rows go in with `INSERT … SELECT FROM unnest($2::text[], …)`,
 * one array per column, in chunks: a few round trips for any size and no extra dependency.
 * A new capture's rows skip staging and go straight into the dataset table; staging and the
 * MERGE are used when a landing replaces an existing capture's rows (a forced re-run the
 * same day), where only the rows that differ are written.
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
    const n = normalizeLandInput(input);
    const checks = normalizeChecks(input.checks);
    if (!n.force) {
      const latest = await this.latestCapture(ds.domain, n.partitionKey, n.stage, 'landed');
      if (latest && latest.content_hash === n.contentHash) return skipped(ds, n, latest);
    }
    let rows: ValidatedRows;
    try {
      rows = validateRows(ds, input.rows, n.source ?? undefined);
    } catch (err) {
      if (err instanceof RowValidationError) await this.recordFailure(ds, n, input.rows.length, err);
      throw err;
    }
    return this.tx((c) => this.landTx(c, ds, sql, n, checks, rows, input.onStaged));
  }

  /** Serializes landings of one (domain, partition) across processes until COMMIT. */
  private lockPartition(c: pg.PoolClient, ds: Dataset, n: NormalizedLand): Promise<unknown> {
    return c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [`sluice:data:${this.schema}:${ds.domain}:${n.partitionKey}`]);
  }

  private async relatedCaptures(c: pg.PoolClient, ds: Dataset, n: NormalizedLand): Promise<{ related: ScopeCapture[]; familyIds: string[] }> {
    const related = (
      await this.query<CaptureRow>(c, `SELECT * FROM ${this.t('captures')} WHERE domain = ? AND partition_key = ? AND (stage = ? OR dataset = ?)`, [
        ds.domain,
        n.partitionKey,
        n.stage,
        ds.name,
      ])
    ).rows.map(toScope);
    const base = captureIdBase(ds.domain, n.partitionKey, n.capturedAt);
    const family = await this.query<{ capture_id: string }>(c, `SELECT capture_id FROM ${this.t('captures')} WHERE substr(capture_id, 1, ?) = ?`, [sqlLength(base), base]);
    return { related, familyIds: family.rows.map((r) => r.capture_id) };
  }

  private async landTx(
    c: pg.PoolClient,
    ds: Dataset,
    sql: DatasetSql,
    n: NormalizedLand,
    checks: NormalizedCheck[],
    validated: ValidatedRows,
    onStaged: LandInput['onStaged'],
  ): Promise<LandResult> {
    await this.lockPartition(c, ds, n);
    const { related, familyIds } = await this.relatedCaptures(c, ds, n);
    const plan = planCapture({ ds, partitionKey: n.partitionKey, stage: n.stage, hash: n.contentHash, capturedAt: n.capturedAt, related, familyIds });
    if (!n.force && plan.latestLanded && plan.latestLanded.content_hash === n.contentHash) {
      const latest = (await this.query<CaptureRow>(c, `SELECT * FROM ${this.t('captures')} WHERE capture_id = ?`, [plan.latestLanded.capture_id])).rows[0]!;
      return skipped(ds, n, toCapture(latest));
    }
    const captureId = plan.captureId;

    // 1. the rows: a new capture's straight into the dataset table (its MERGE would insert
    // every staged row), written once instead of three times (staging, MERGE, staging
    // emptied) and leaving no dead staging tuples behind; rows replacing an existing
    // capture's go to staging, tagged with the capture id, for the MERGE. The DELETE only
    // guards the invariant that a new capture has no rows.
    const direct = plan.reuse === null;
    await this.query(c, direct ? sql.deleteCapture : sql.deleteStaging, [captureId]);
    const cols = ds.columns;
    const names = cols.map((col) => quoteIdent(col.name)).join(', ');
    const fixed = direct ? [captureId, n.partitionKey] : [captureId];
    const arrays = cols.map((col, i) => `$${fixed.length + i + 1}::${ARRAY_TYPES[col.type]}`).join(', ');
    const insert = direct
      ? `INSERT INTO ${this.t(sql.table)} (capture_id, partition_key, ${names}) SELECT $1, $2, u.* FROM unnest(${arrays}) AS u`
      : `INSERT INTO ${this.t(sql.staging)} (capture_id, ${names}) SELECT $1, u.* FROM unnest(${arrays}) AS u`;
    for (let start = 0; start < validated.rows.length; start += STAGING_CHUNK) {
      const chunk = validated.rows.slice(start, start + STAGING_CHUNK);
      await c.query(insert, [...fixed, ...cols.map((_, i) => chunk.map((row) => row[i]))]);
    }
    crashPoint('after_staging');
    if (onStaged) await onStaged();

    // 2. revision summary against the prior capture, then (replacing rows) MERGE on
    // (primary key, capture_id)
    const prior = priorCapture(plan.scope, captureId);
    let summary: RevisionSummary | null = null;
    if (prior && prior.content_hash !== n.contentHash) {
      const r = (await this.query<RevisionSummary>(c, direct ? sql.revisionWritten : sql.revision, sql.revisionParams(captureId, prior.capture_id))).rows[0]!;
      summary = { rows_added: r.rows_added, rows_removed: r.rows_removed, rows_changed: r.rows_changed };
    }
    let written = validated.rows.length;
    if (!direct) {
      const up = await this.query(c, sql.upsert, [n.partitionKey, captureId]);
      const del = await this.query(c, sql.deleteMissing, [captureId]);
      written = (up.rowCount ?? 0) + (del.rowCount ?? 0);
      await this.query(c, sql.deleteStaging, [captureId]);
    }

    // 3. captures, manifest, anomalies, rejects
    const now = new Date();
    const rowCount = validated.rows.length;
    const isRevision = summary !== null;
    const summaryJson = summary && JSON.stringify(summary);
    if (plan.reuse) {
      await this.query(
        c,
        `UPDATE ${this.t('captures')} SET status = 'landed', row_count = ?, landed_at = ?, source = ?, is_revision = ?, revision_summary = ?, error = NULL WHERE capture_id = ?`,
        [rowCount, now, n.source, isRevision, summaryJson, captureId],
      );
    } else {
      await this.query(
        c,
        `INSERT INTO ${this.t('captures')} (capture_id, domain, dataset, partition_key, stage, content_hash, row_count, captured_at, landed_at, source, status, is_revision, revision_summary, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'landed', ?, ?, NULL)`,
        [captureId, ds.domain, ds.name, n.partitionKey, n.stage, n.contentHash, rowCount, n.capturedAt, now, n.source, isRevision, summaryJson],
      );
    }
    const capturedAt = plan.reuse ? plan.reuse.captured_at : n.capturedAt;

    let previous: { partition_key: string; row_count: number } | null = null;
    const drop = checks.find((ch) => ch.check === 'row_count_drop');
    if (drop && drop.check === 'row_count_drop') {
      const others = (
        await this.query<{ partition_key: string; row_count: number }>(
          c,
          `SELECT partition_key, row_count FROM ${this.t('manifest')} WHERE domain = ? AND stage = ? AND partition_key <> ?`,
          [ds.domain, n.stage, n.partitionKey],
        )
      ).rows;
      const key = drop.previous ?? previousPartitionKey(n.partitionKey, others.map((o) => o.partition_key));
      previous = others.find((o) => o.partition_key === key) ?? null;
    }
    const drafts = evaluateChecks(
      { dataset: ds, partitionKey: n.partitionKey, rowCount, capturedAt, requiredNulls: validated.requiredNulls, previous, rejects: n.rejects },
      checks,
    );

    await this.query(
      c,
      `INSERT INTO ${this.t('manifest')} (domain, partition_key, stage, dataset, capture_id, row_count, content_hash, captured_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (domain, partition_key, stage) DO UPDATE SET dataset = excluded.dataset, capture_id = excluded.capture_id,
         row_count = excluded.row_count, content_hash = excluded.content_hash, captured_at = excluded.captured_at, updated_at = excluded.updated_at`,
      [ds.domain, n.partitionKey, n.stage, ds.name, captureId, rowCount, n.contentHash, capturedAt, now],
    );

    await this.query(c, `DELETE FROM ${this.t('anomalies')} WHERE capture_id = ?`, [captureId]);
    await this.query(c, `DELETE FROM ${this.t('rejects')} WHERE capture_id = ?`, [captureId]);
    const anomalies: DataAnomaly[] = [];
    for (const a of drafts) {
      const { rows } = await this.query<{ id: string }>(
        c,
        `INSERT INTO ${this.t('anomalies')} (domain, dataset, partition_key, stage, capture_id, "check", severity, message, detail, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [ds.domain, ds.name, n.partitionKey, n.stage, captureId, a.check, a.severity, a.message, JSON.stringify(a.detail), now],
      );
      anomalies.push({ ...a, id: Number(rows[0]!.id), domain: ds.domain, dataset: ds.name, partition_key: n.partitionKey, stage: n.stage, capture_id: captureId, recorded_at: now });
    }
    crashPoint('in_capture_tx');
    if (n.rejects.length) {
      await c.query(`INSERT INTO ${this.t('rejects')} (capture_id, line, reason, raw) SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])`, [
        captureId,
        n.rejects.map((r) => r.line),
        n.rejects.map((r) => r.reason),
        n.rejects.map((r) => r.raw ?? null),
      ]);
    }
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
  private async recordFailure(ds: Dataset, n: NormalizedLand, rowCount: number, err: RowValidationError): Promise<void> {
    try {
      await this.tx(async (c) => {
        await this.lockPartition(c, ds, n);
        const { related, familyIds } = await this.relatedCaptures(c, ds, n);
        const plan = planCapture({ ds, partitionKey: n.partitionKey, stage: n.stage, hash: n.contentHash, capturedAt: n.capturedAt, related, familyIds, forFailure: true });
        if (plan.reuse) {
          await this.query(c, `UPDATE ${this.t('captures')} SET row_count = ?, source = ?, error = ? WHERE capture_id = ?`, [rowCount, n.source, err.message, plan.captureId]);
        } else {
          await this.query(
            c,
            `INSERT INTO ${this.t('captures')} (capture_id, domain, dataset, partition_key, stage, content_hash, row_count, captured_at, landed_at, source, status, is_revision, revision_summary, error)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 'failed', false, NULL, ?)`,
            [plan.captureId, ds.domain, ds.name, n.partitionKey, n.stage, n.contentHash, rowCount, n.capturedAt, n.source, err.message],
          );
        }
        err.captureId = plan.captureId;
      });
    } catch (recordErr) {
      if (!(recordErr instanceof ValidationError)) throw recordErr;
    }
  }

  async latestCapture(domain: string, partitionKey: string, stage: string, status?: 'landed' | 'failed'): Promise<CaptureRecord | null> {
    await this.ensureSchema();
    const { rows } = await this.query<CaptureRow>(
      this.pool,
      `SELECT * FROM ${this.t('captures')} WHERE domain = ? AND partition_key = ? AND stage = ? AND (CAST(? AS TEXT) IS NULL OR status = ?)
       ORDER BY captured_at DESC, seq DESC LIMIT 1`,
      [domain, partitionKey, stage, status ?? null, status ?? null],
    );
    return rows[0] ? toCapture(rows[0]) : null;
  }

  private async readRows(ds: Dataset, text: string, params: unknown[]): Promise<DataRow[]> {
    const { rows } = await this.query<Record<string, DataValue>>(this.pool, text, params);
    const ints = ds.columns.filter((col) => col.type === 'integer').map((col) => col.name);
    if (ints.length) for (const r of rows) for (const k of ints) if (r[k] !== null) r[k] = Number(r[k]);
    return rows;
  }

  private whereSql(ds: Dataset, where: Where | undefined): { text: string; params: DataValue[] } {
    const pairs = validateWhere(ds, where);
    return { text: pairs.map(([k]) => ` AND d.${quoteIdent(k)} = ?`).join(''), params: pairs.map(([, v]) => v) };
  }

  async latest(ds: Dataset, options: ReadOptions = {}): Promise<DataRow[]> {
    const sql = await this.datasetSql(ds);
    const w = this.whereSql(ds, options.where);
    return this.readRows(
      ds,
      `${sql.selectFrom} JOIN ${this.t('manifest')} AS m ON m.capture_id = d.capture_id WHERE m.domain = ? AND m.dataset = ?${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, ...w.params],
    );
  }

  async asOf(ds: Dataset, ref: AsOfRef, where?: Where): Promise<DataRow[]> {
    const sql = await this.datasetSql(ds);
    const w = this.whereSql(ds, where);
    if (ref && 'capture_id' in ref) {
      const { rows } = await this.query<CaptureRow>(this.pool, `SELECT * FROM ${this.t('captures')} WHERE capture_id = ?`, [ref.capture_id]);
      checkCaptureRef(ds, ref.capture_id, rows[0] ? toCapture(rows[0]) : null);
      return this.readRows(ds, `${sql.selectFrom} WHERE d.capture_id = ?${w.text} ${sql.orderBy}`, [ref.capture_id, ...w.params]);
    }
    const at = checkAt(ref);
    return this.readRows(
      ds,
      `${asOfCapturesCte(this.d)} ${sql.selectFrom} JOIN c ON c.capture_id = d.capture_id AND c.rn = 1 WHERE 1 = 1${w.text} ${sql.orderBy}`,
      [ds.domain, ds.name, at, ...w.params],
    );
  }

  async listCaptures(filter: CaptureFilter): Promise<CaptureRecord[]> {
    await this.ensureSchema();
    if (!filter || typeof filter.domain !== 'string') throw new ValidationError('domain', filter?.domain, 'be given');
    const { text, params } = filters([
      ['domain', filter.domain],
      ['partition_key', filter.partitionKey],
      ['dataset', filter.dataset],
      ['stage', filter.stage],
      ['status', filter.status],
    ]);
    const { rows } = await this.query<CaptureRow>(this.pool, `SELECT * FROM ${this.t('captures')} WHERE 1 = 1${text} ORDER BY captured_at, seq`, params);
    return rows.map(toCapture);
  }

  async manifest(filter: ManifestFilter = {}): Promise<ManifestEntry[]> {
    await this.ensureSchema();
    const { text, params } = filters([
      ['domain', filter.domain],
      ['partition_key', filter.partitionKey],
      ['stage', filter.stage],
      ['dataset', filter.dataset],
    ]);
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
    const { text, params } = filters([
      ['domain', filter.domain],
      ['partition_key', filter.partitionKey],
      ['stage', filter.stage],
      ['capture_id', filter.captureId],
      ['"check"', filter.check],
      ['severity', filter.severity],
    ]);
    const { rows } = await this.query<AnomalyRow>(this.pool, `SELECT * FROM ${this.t('anomalies')} WHERE 1 = 1${text} ORDER BY id`, params);
    return rows.map(toAnomaly);
  }

  async rejects(captureId: string): Promise<RejectRecord[]> {
    await this.ensureSchema();
    const { rows } = await this.query<RejectRecord>(this.pool, `SELECT capture_id, line, reason, raw FROM ${this.t('rejects')} WHERE capture_id = ? ORDER BY line, id`, [captureId]);
    return rows;
  }
}
