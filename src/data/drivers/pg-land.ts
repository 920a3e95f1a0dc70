import type pg from 'pg';
import type { RevisionSummary } from '../../core/run-result.js';
import type { CaptureRecord, RejectInput } from '../data-store.js';
import { quoteIdent, type DataValue, type Dataset } from '../dataset.js';
import { captureText } from '../row-common.js';
import type { CaptureWithSeq, LandDriver, RowTarget } from '../land.js';
import { toPgParams, type DatasetSql } from '../sql.js';

/** A captures row as `pg` returns it: the record plus the sequence behind `#2`, `#3`. */
export interface PgCaptureRow extends CaptureRecord {
  seq: string;
}

export const pgCapture = (r: PgCaptureRow): CaptureRecord => ({
  ...captureText(r),
  captured_at: r.captured_at,
  landed_at: r.landed_at,
  is_revision: r.is_revision,
  revision_summary: r.revision_summary as RevisionSummary | null,
});

/** One COPY text-format field (tab-separated, `\N` for NULL, backslash escapes). */
function copyField(v: DataValue | string): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : v;
}

/** A landing's COPY: `write` waits for back-pressure and throws once the server failed it. */
interface OpenCopy {
  write(text: string): Promise<void>;
  end(): Promise<void>;
}

/** Bytes handed to the COPY stream per write: large enough to amortize, small enough to stay bounded. */
const COPY_PIECE = 1 << 20;

/**
 * The landing driver on one checked-out PostgreSQL connection. Rows go in with
 * `COPY … FROM STDIN` (pg-copy-streams), one COPY per landing, respecting the stream's
 * back-pressure. An advisory transaction lock per (schema, domain, partition) serializes
 * landings of one partition across processes while other partitions land in parallel.
 */
export class PgLandDriver implements LandDriver {
  readonly overriding = 'OVERRIDING SYSTEM VALUE ';
  /** The server reports a duplicate key of the open COPY a few pieces later. */
  readonly heldChunks = 3;
  private copy: OpenCopy | null = null;
  private readonly q: string;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly schema: string,
  ) {
    this.q = quoteIdent(schema, 'schema');
  }

  t(name: string): string {
    return `${this.q}.${quoteIdent(name)}`;
  }
  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }
  async commit(): Promise<void> {
    await this.client.query('COMMIT');
  }
  async rollback(): Promise<void> {
    // An open COPY holds the connection: end it (its rows go with the ROLLBACK, its error was already reported or does not matter).
    await this.endRows().catch(() => undefined);
    // A broken connection fails the ROLLBACK too; the caller reports the original error.
    await this.client.query('ROLLBACK').catch(() => undefined);
  }
  async lock(domain: string, partitionKey: string): Promise<void> {
    await this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [`sluice:data:${this.schema}:${domain}:${partitionKey}`]);
  }
  /** Taken from the identity's own sequence, so numbers stay unique across concurrent landings. */
  async nextSeq(): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT nextval(pg_get_serial_sequence($1, 'seq')) AS n`, [this.t('captures')]);
    return Number(rows[0]!.n);
  }
  async run(sql: string, params: unknown[]): Promise<number> {
    return (await this.client.query(toPgParams(sql), params)).rowCount ?? 0;
  }
  async all<R>(sql: string, params: unknown[]): Promise<R[]> {
    return (await this.client.query(toPgParams(sql), params)).rows as R[];
  }
  async captures(where: string, params: unknown[]): Promise<CaptureWithSeq[]> {
    return (await this.all<PgCaptureRow>(`SELECT * FROM ${this.t('captures')} WHERE ${where}`, params)).map((r) => ({ ...pgCapture(r), seq: Number(r.seq) }));
  }

  async writeRows(ds: Dataset, sql: DatasetSql, target: RowTarget, rows: DataValue[][]): Promise<void> {
    if (rows.length === 0) return;
    const copy = this.copy ?? (this.copy = await this.openCopy(ds, sql, target));
    const prefix = String(target.captureSeq);
    let piece = '';
    for (const row of rows) {
      let line = prefix;
      for (const v of row) line += `\t${copyField(v)}`;
      piece += `${line}\n`;
      if (piece.length >= COPY_PIECE) {
        await copy.write(piece);
        piece = '';
      }
    }
    if (piece) await copy.write(piece);
  }

  /**
   * One COPY for all of a landing's rows: writes return once the stream takes them, so the
   * server parses, checks keys and stores rows while this process parses the next chunk
   * (one COPY per chunk made each side wait for the other).
   */
  private async openCopy(ds: Dataset, sql: DatasetSql, target: RowTarget): Promise<OpenCopy> {
    const cols = ds.columns.map((c) => quoteIdent(c.name)).join(', ');
    const into = `${this.t(target.direct ? sql.table : sql.staging)} (capture_seq, ${cols})`;
    // Loaded on the first COPY, so SQLite commands (which load this module) never load it.
    const { from: copyFrom } = await import('pg-copy-streams');
    const stream = this.client.query(copyFrom(`COPY ${into} FROM STDIN`));
    let failed: Error | null = null;
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', (err: Error) => {
        failed = err;
        reject(err);
      });
    });
    done.catch(() => undefined);
    return {
      async write(text) {
        if (failed) throw failed;
        if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve).once('error', () => resolve()));
        if (failed) throw failed;
      },
      async end() {
        if (!failed) stream.end();
        await done;
      },
    };
  }

  async endRows(): Promise<void> {
    const copy = this.copy;
    this.copy = null;
    await copy?.end();
  }

  duplicateRow(err: unknown): number | null {
    const e = err as { code?: unknown; where?: unknown } | null;
    if (e?.code !== '23505') return null;
    const m = typeof e.where === 'string' ? /COPY [^,]+, line (\d+)/.exec(e.where) : null;
    const line = m ? Number(m[1]) : NaN;
    return Number.isInteger(line) && line >= 1 ? line - 1 : null;
  }

  /** `Key (capture_seq, a, b)=(7, x, y) already exists.`: the values of the user's key columns (the text if it does not split cleanly). */
  duplicateKey(err: unknown): unknown {
    const detail = (err as { detail?: unknown }).detail;
    if (typeof detail !== 'string') return null;
    const m = /^Key \((.*)\)=\((.*)\) already exists\.$/.exec(detail);
    if (!m) return detail;
    const names = m[1]!.split(', ');
    const values = m[2]!.split(', ');
    if (names.length !== values.length) return detail;
    return Object.fromEntries(names.map((k, i) => [k, values[i]]).filter(([k]) => k !== 'capture_seq'));
  }

  async insertRejects(captureId: string, rejects: readonly RejectInput[]): Promise<void> {
    await this.client.query(`INSERT INTO ${this.t('rejects')} (capture_id, line, reason, raw) SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])`, [
      captureId,
      rejects.map((r) => r.line),
      rejects.map((r) => r.reason),
      rejects.map((r) => r.raw ?? null),
    ]);
  }
  time(d: Date): Date {
    return d;
  }
  bool(b: boolean): boolean {
    return b;
  }
}
