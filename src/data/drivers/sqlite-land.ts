import type { Database as DB, Statement } from 'better-sqlite3';
import type { RevisionSummary } from '../../core/run-result.js';
import type { CaptureRecord, RejectInput } from '../data-store.js';
import { quoteIdent, type DataValue, type Dataset } from '../dataset.js';
import { captureText } from '../row-common.js';
import type { CaptureWithSeq, LandDriver, RowTarget } from '../land.js';
import type { DatasetSql } from '../sql.js';

/** A captures row as better-sqlite3 returns it (instants in ms, booleans 0/1, JSON as text). */
export type SqliteCaptureRow = Omit<CaptureRecord, 'captured_at' | 'landed_at' | 'is_revision' | 'revision_summary'> & {
  seq: number;
  captured_at: number;
  landed_at: number | null;
  is_revision: number;
  revision_summary: string | null;
};

export const sqliteCapture = (r: SqliteCaptureRow): CaptureRecord => ({
  ...captureText(r),
  captured_at: new Date(r.captured_at),
  landed_at: r.landed_at === null ? null : new Date(r.landed_at),
  is_revision: r.is_revision === 1,
  revision_summary: r.revision_summary === null ? null : (JSON.parse(r.revision_summary) as RevisionSummary),
});

/** better-sqlite3 binds no booleans. */
export const bindSqlite = (v: DataValue): string | number | null => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

/** Page cache of a landing's transaction (see `capCache`). */
const LANDING_CACHE_KIB = 8192;

/** Rows per multi-row INSERT: fewer statement runs per row, well under SQLite's 32,766 parameters. */
const ROWS_PER_INSERT = 64;

/**
 * The landing driver on a better-sqlite3 connection: every call is synchronous, so a landing
 * holds the shared connection from BEGIN IMMEDIATE to COMMIT (the write lock serializes
 * landings across processes, so `lock` has nothing to add).
 */
export class SqliteLandDriver implements LandDriver {
  readonly overriding = '';
  /** A duplicate key fails the INSERT of its own chunk. */
  readonly heldChunks = 1;
  private readonly inserts = new Map<string, Statement>();
  /** The connection's cache_size while a landing runs with LANDING_CACHE_KIB. */
  private savedCache: number | null = null;

  constructor(private readonly db: DB) {}

  t(name: string): string {
    return quoteIdent(name);
  }
  begin(): void {
    this.db.prepare('BEGIN IMMEDIATE').run();
    this.capCache();
  }
  commit(): void {
    if (!this.db.inTransaction) throw new Error('the landing transaction ended while the onStaged hook ran');
    this.db.prepare('COMMIT').run();
    this.restoreCache();
  }
  rollback(): void {
    if (this.db.inTransaction) this.db.prepare('ROLLBACK').run();
    this.restoreCache();
  }

  /**
   * A landing writes its rows once, in one transaction: a large one fills whatever page
   * cache the connection has with dirty pages (the store's 64 MiB, there for the queue's
   * B-trees) and spills them to the WAL anyway. Capped for the landing, the cache stops
   * adding that much to the process' memory for no speed (measured at 1M rows); the
   * connection's own size comes back with COMMIT or ROLLBACK.
   */
  private capCache(): void {
    const size = this.db.pragma('cache_size', { simple: true }) as number;
    // Negative sizes are KiB, positive ones pages; only a larger cache is capped.
    const kib = size < 0 ? -size : (size * (this.db.pragma('page_size', { simple: true }) as number)) / 1024;
    if (kib <= LANDING_CACHE_KIB) return;
    this.savedCache = size;
    this.db.pragma(`cache_size = ${-LANDING_CACHE_KIB}`);
  }
  private restoreCache(): void {
    if (this.savedCache === null) return;
    this.db.pragma(`cache_size = ${Math.trunc(this.savedCache)}`);
    this.savedCache = null;
  }
  lock(): void {}
  /** Inside BEGIN IMMEDIATE no other writer can take the same number. */
  nextSeq(): number {
    return (this.db.prepare(`SELECT coalesce(max(seq), 0) + 1 AS n FROM captures`).get() as { n: number }).n;
  }
  run(sql: string, params: unknown[]): number {
    return this.db.prepare(sql).run(...params).changes;
  }
  all<R>(sql: string, params: unknown[]): R[] {
    return this.db.prepare(sql).all(...params) as R[];
  }
  captures(where: string, params: unknown[]): CaptureWithSeq[] {
    return (this.db.prepare(`SELECT * FROM captures WHERE ${where}`).all(...params) as SqliteCaptureRow[]).map((r) => ({
      ...sqliteCapture(r),
      seq: Number(r.seq),
    }));
  }

  private insert(ds: Dataset, sql: DatasetSql, direct: boolean, rows: number): Statement {
    const key = `${sql.table}:${direct}:${rows}`;
    let stmt = this.inserts.get(key);
    if (!stmt) {
      const cols = ds.columns.map((c) => quoteIdent(c.name)).join(', ');
      const one = `(?${', ?'.repeat(ds.columns.length)})`;
      const into = `${quoteIdent(direct ? sql.table : sql.staging)} (capture_seq, ${cols})`;
      stmt = this.db.prepare(`INSERT INTO ${into} VALUES ${Array.from({ length: rows }, () => one).join(', ')}`);
      this.inserts.set(key, stmt);
    }
    return stmt;
  }

  writeRows(ds: Dataset, sql: DatasetSql, target: RowTarget, rows: DataValue[][], first: number): void {
    const seq = target.captureSeq;
    const width = 1 + ds.columns.length;
    const many = this.insert(ds, sql, target.direct, ROWS_PER_INSERT);
    const params: unknown[] = new Array(width * ROWS_PER_INSERT);
    let i = 0;
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
      let p = 0;
      for (let r = i; r < i + ROWS_PER_INSERT; r++) {
        params[p++] = seq;
        for (const v of rows[r]!) params[p++] = bindSqlite(v);
      }
      try {
        many.run(params);
      } catch (err) {
        throw this.locate(err, ds, sql, target, rows, i, i + ROWS_PER_INSERT, first);
      }
    }
    if (i < rows.length) {
      const one = this.insert(ds, sql, target.direct, 1);
      for (let r = i; r < rows.length; r++) this.runOne(one, seq, rows, r, first);
    }
  }

  private runOne(one: Statement, seq: number, rows: DataValue[][], r: number, first: number): void {
    try {
      one.run(seq, ...rows[r]!.map(bindSqlite));
    } catch (err) {
      if (isPkViolation(err)) (err as { sluiceRow?: number }).sluiceRow = first + r;
      throw err;
    }
  }

  /** A multi-row INSERT failed as a whole (nothing of it was written): redo it row by row to find the row. */
  private locate(err: unknown, ds: Dataset, sql: DatasetSql, target: RowTarget, rows: DataValue[][], from: number, to: number, first: number): unknown {
    if (!isPkViolation(err)) return err;
    const one = this.insert(ds, sql, target.direct, 1);
    try {
      for (let r = from; r < to; r++) this.runOne(one, target.captureSeq, rows, r, first);
    } catch (rowErr) {
      return rowErr;
    }
    return err;
  }

  /** Every INSERT has run when `writeRows` returns. */
  endRows(): void {}
  /** The row is always held (SQLite reports the violation in the chunk that has it). */
  duplicateKey(): null {
    return null;
  }
  duplicateRow(err: unknown): number | null {
    const r = (err as { sluiceRow?: unknown } | null)?.sluiceRow;
    return typeof r === 'number' ? r : null;
  }

  insertRejects(captureId: string, rejects: readonly RejectInput[]): void {
    const ins = this.db.prepare(`INSERT INTO rejects (capture_id, line, reason, raw) VALUES (?, ?, ?, ?)`);
    for (const r of rejects) ins.run(captureId, r.line, r.reason, r.raw ?? null);
  }
  time(d: Date): number {
    return d.getTime();
  }
  bool(b: boolean): number {
    return b ? 1 : 0;
  }
}

const isPkViolation = (err: unknown) => (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
