import { datasetTables, keyColumns, quoteIdent, valueColumns, type ColumnType, type Dataset } from './dataset.js';

/**
 * The SQL of the data layer, written once for both databases. Statements mark bind
 * parameters with `?`; the PostgreSQL store numbers them (`toPgParams`). Only validated, quoted
 * identifiers and constants enter the text; every value is a bound parameter.
 */

export type DialectKind = 'sqlite' | 'postgres';

export interface Dialect {
  readonly kind: DialectKind;
  /** A quoted (and on PostgreSQL schema-qualified) table name. */
  table(name: string): string;
}

/** Numbers `?` parameter markers as `$1, $2, …` (no `?` ever appears in our SQL otherwise). */
export function toPgParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const SQLITE_TYPES: Record<ColumnType, string> = { text: 'TEXT', integer: 'INTEGER', real: 'REAL', date: 'TEXT', boolean: 'INTEGER' };
const PG_TYPES: Record<ColumnType, string> = { text: 'text', integer: 'bigint', real: 'double precision', date: 'date', boolean: 'boolean' };

export function columnSqlType(kind: DialectKind, type: ColumnType): string {
  return kind === 'sqlite' ? SQLITE_TYPES[type] : PG_TYPES[type];
}

/** Shared tables. Instants: INTEGER ms on SQLite, timestamptz on PostgreSQL; JSON: TEXT / jsonb. */
export function sharedDdl(d: Dialect): string[] {
  const pg = d.kind === 'postgres';
  const ts = pg ? 'timestamptz' : 'INTEGER';
  const json = pg ? 'jsonb' : 'TEXT';
  const bool = pg ? 'boolean NOT NULL DEFAULT false' : 'INTEGER NOT NULL DEFAULT 0';
  const serial = pg ? 'bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const seq = pg ? 'bigint GENERATED ALWAYS AS IDENTITY' : 'INTEGER NOT NULL';
  const ix = (name: string) => quoteIdent(name);
  return [
    `CREATE TABLE IF NOT EXISTS ${d.table('captures')} (
      capture_id       TEXT PRIMARY KEY,
      seq              ${seq},
      domain           TEXT NOT NULL,
      dataset          TEXT NOT NULL,
      partition_key    TEXT NOT NULL,
      stage            TEXT NOT NULL,
      content_hash     TEXT NOT NULL,
      row_count        INTEGER,
      captured_at      ${ts} NOT NULL,
      landed_at        ${ts},
      source           TEXT,
      status           TEXT NOT NULL CHECK (status IN ('landed', 'failed')),
      is_revision      ${bool},
      revision_summary ${json},
      error            TEXT
    )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${ix('captures_seq')} ON ${d.table('captures')} (seq)`,
    `CREATE INDEX IF NOT EXISTS ${ix('captures_scope')} ON ${d.table('captures')} (domain, partition_key, stage, captured_at)`,
    `CREATE INDEX IF NOT EXISTS ${ix('captures_dataset')} ON ${d.table('captures')} (domain, dataset, status, captured_at)`,
    `CREATE TABLE IF NOT EXISTS ${d.table('manifest')} (
      domain        TEXT NOT NULL,
      partition_key TEXT NOT NULL,
      stage         TEXT NOT NULL,
      dataset       TEXT NOT NULL,
      capture_id    TEXT NOT NULL,
      row_count     INTEGER NOT NULL,
      content_hash  TEXT NOT NULL,
      captured_at   ${ts} NOT NULL,
      updated_at    ${ts} NOT NULL,
      PRIMARY KEY (domain, partition_key, stage)
    )`,
    `CREATE INDEX IF NOT EXISTS ${ix('manifest_stage')} ON ${d.table('manifest')} (domain, stage)`,
    `CREATE INDEX IF NOT EXISTS ${ix('manifest_capture')} ON ${d.table('manifest')} (capture_id)`,
    `CREATE TABLE IF NOT EXISTS ${d.table('anomalies')} (
      id            ${serial},
      domain        TEXT NOT NULL,
      dataset       TEXT NOT NULL,
      partition_key TEXT NOT NULL,
      stage         TEXT NOT NULL,
      capture_id    TEXT NOT NULL,
      "check"       TEXT NOT NULL,
      severity      TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
      message       TEXT NOT NULL,
      detail        ${json},
      recorded_at   ${ts} NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${ix('anomalies_partition')} ON ${d.table('anomalies')} (domain, partition_key, stage)`,
    `CREATE INDEX IF NOT EXISTS ${ix('anomalies_capture')} ON ${d.table('anomalies')} (capture_id)`,
    `CREATE TABLE IF NOT EXISTS ${d.table('rejects')} (
      id         ${serial},
      capture_id TEXT NOT NULL,
      line       INTEGER,
      reason     TEXT NOT NULL,
      raw        TEXT
    )`,
    `CREATE INDEX IF NOT EXISTS ${ix('rejects_capture')} ON ${d.table('rejects')} (capture_id, line)`,
    `CREATE TABLE IF NOT EXISTS ${d.table('datasets')} (
      table_name TEXT PRIMARY KEY,
      domain     TEXT NOT NULL,
      dataset    TEXT NOT NULL,
      definition TEXT NOT NULL,
      created_at ${ts} NOT NULL
    )`,
  ];
}

export interface DatasetSql {
  readonly table: string;
  readonly staging: string;
  readonly ddl: string[];
  /** Column names in definition order (binding order for staging rows). */
  readonly columns: string[];
  /** Params: capture seq. Clears a capture's dataset rows before they are written directly. */
  readonly deleteCapture: string;
  readonly deleteStaging: string;
  /** Params: capture seq. */
  readonly upsert: string;
  /** Params: capture seq. */
  readonly deleteMissing: string;
  /** rows_added, rows_removed, rows_changed of staged capture `next` against landed capture `prior`. */
  readonly revision: string;
  /** The same, with `next`'s rows already in the dataset table (written directly). Same params. */
  readonly revisionWritten: string;
  revisionParams(next: number, prior: number): number[];
  /**
   * `SELECT partition_key, capture_id, <cols> FROM <table> AS d JOIN captures AS cap …`: rows
   * carry only their capture's number, so reads take the capture's id and partition key from
   * `cap` (reads add joins on `cap.capture_id` and a WHERE).
   */
  readonly selectFrom: string;
  readonly orderBy: string;
  /** The qualified column a read filter on `name` compares (`partition_key` is the capture's). */
  filterColumn(name: string): string;
  /** Statements turning a table of the first layout (capture_id, partition_key text per row) into this one. */
  readonly upgrade: string[];
}

/**
 * Dataset rows carry their capture's number (`captures.seq`, an integer) instead of the
 * capture id and partition key texts, which belong to the capture: for a FINRA row that is
 * ~85 bytes less per row and per primary-key entry. On SQLite the table is WITHOUT ROWID,
 * so the primary key is the table (one B-tree, not a rowid table plus a key index).
 */
export function datasetSql(d: Dialect, ds: Dataset): DatasetSql {
  const pg = d.kind === 'postgres';
  const names = datasetTables(ds);
  const T = d.table(names.table);
  const S = d.table(names.staging);
  const C = d.table('captures');
  const keys = keyColumns(ds).map((c) => quoteIdent(c.name));
  const vals = valueColumns(ds).map((c) => quoteIdent(c.name));
  const cols = ds.columns.map((c) => quoteIdent(c.name));
  const defs = ds.columns.map((c) => `${quoteIdent(c.name)} ${columnSqlType(d.kind, c.type)}${ds.primaryKey.includes(c.name) ? ' NOT NULL' : ''}`);
  const seqType = pg ? 'bigint' : 'INTEGER';
  const withoutRowid = pg ? '' : ' WITHOUT ROWID';
  const tableDdl = (name: string) => `CREATE TABLE IF NOT EXISTS ${name} (
      capture_seq ${seqType} NOT NULL,
      ${defs.join(',\n      ')},
      PRIMARY KEY (capture_seq, ${keys.join(', ')})
    )${withoutRowid}`;
  const ddl = [tableDdl(T), tableDdl(S)];

  const old = d.table(`${names.table}__old`);
  const upgrade = [
    `ALTER TABLE ${T} RENAME TO ${quoteIdent(`${names.table}__old`)}`,
    `DROP TABLE IF EXISTS ${S}`,
    ...ddl,
    `INSERT INTO ${T} (capture_seq, ${cols.join(', ')}) SELECT c.seq, ${cols.map((c) => `o.${c}`).join(', ')} FROM ${old} AS o JOIN ${C} AS c ON c.capture_id = o.capture_id`,
    `DROP TABLE ${old}`,
  ];

  const keyMatch = (a: string, b: string) => keys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  const differs = (a: string, b: string) => vals.map((v) => `${a}.${v} IS DISTINCT FROM ${b}.${v}`).join(' OR ');
  const conflict = vals.length ? `DO UPDATE SET ${vals.map((v) => `${v} = excluded.${v}`).join(', ')} WHERE ${differs('d', 'excluded')}` : 'DO NOTHING';

  const textOrder = (c: string) => (pg ? `${c} COLLATE "C"` : c);
  const orderBy = `ORDER BY ${[textOrder('cap.partition_key'), ...keyColumns(ds).map((c) => (c.type === 'text' ? textOrder(`d.${quoteIdent(c.name)}`) : `d.${quoteIdent(c.name)}`))].join(', ')}`;
  const selectCols = ds.columns.map((c) =>
    pg && c.type === 'date' ? `to_char(d.${quoteIdent(c.name)}, 'YYYY-MM-DD') AS ${quoteIdent(c.name)}` : `d.${quoteIdent(c.name)}`,
  );

  // Counts of `next` (rows in N) against `prior` (rows in T); N is the staging table, or
  // the dataset table itself when the new capture's rows were written there directly.
  const revisionAgainst = (N: string) => `SELECT
      (SELECT CAST(count(*) AS INTEGER) FROM ${N} AS s WHERE s.capture_seq = ?
        AND NOT EXISTS (SELECT 1 FROM ${T} AS p WHERE p.capture_seq = ? AND ${keyMatch('p', 's')})) AS rows_added,
      (SELECT CAST(count(*) AS INTEGER) FROM ${T} AS p WHERE p.capture_seq = ?
        AND NOT EXISTS (SELECT 1 FROM ${N} AS s WHERE s.capture_seq = ? AND ${keyMatch('s', 'p')})) AS rows_removed,
      ${
        vals.length
          ? `(SELECT CAST(count(*) AS INTEGER) FROM ${N} AS s JOIN ${T} AS p ON p.capture_seq = ? AND ${keyMatch('p', 's')}
        WHERE s.capture_seq = ? AND (${differs('p', 's')})) AS rows_changed`
          : '0 AS rows_changed'
      }`;

  return {
    table: names.table,
    staging: names.staging,
    ddl,
    columns: ds.columns.map((c) => c.name),
    deleteCapture: `DELETE FROM ${T} WHERE capture_seq = ?`,
    deleteStaging: `DELETE FROM ${S} WHERE capture_seq = ?`,
    upsert: `INSERT INTO ${T} AS d (capture_seq, ${cols.join(', ')})
      SELECT s.capture_seq, ${cols.map((c) => `s.${c}`).join(', ')} FROM ${S} AS s WHERE s.capture_seq = ?
      ON CONFLICT (capture_seq, ${keys.join(', ')}) ${conflict}`,
    deleteMissing: `DELETE FROM ${T} AS d WHERE d.capture_seq = ? AND NOT EXISTS (
      SELECT 1 FROM ${S} AS s WHERE s.capture_seq = d.capture_seq AND ${keyMatch('s', 'd')})`,
    revision: revisionAgainst(S),
    revisionWritten: revisionAgainst(T),
    revisionParams: (next, prior) => (vals.length ? [next, prior, prior, next, prior, next] : [next, prior, prior, next]),
    selectFrom: `SELECT cap.partition_key, cap.capture_id, ${selectCols.join(', ')} FROM ${T} AS d JOIN ${C} AS cap ON cap.seq = d.capture_seq`,
    orderBy,
    filterColumn: (name) => (name === 'partition_key' ? 'cap.partition_key' : `d.${quoteIdent(name)}`),
    upgrade,
  };
}

/** Counts a dataset table's `capture_id` columns (params: table name): 1 means the first layout, which `upgrade` converts. */
export function firstLayoutProbe(d: Dialect): string {
  return d.kind === 'sqlite'
    ? `SELECT count(*) AS n FROM pragma_table_info(?) WHERE name = 'capture_id'`
    : `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = 'capture_id'`;
}

/** Per-partition latest landed capture at or before an instant (params: domain, dataset, at). */
export function asOfCapturesCte(d: Dialect): string {
  return `WITH c AS (
      SELECT capture_id, seq, ROW_NUMBER() OVER (PARTITION BY partition_key ORDER BY captured_at DESC, seq DESC) AS rn
      FROM ${d.table('captures')}
      WHERE domain = ? AND dataset = ? AND status = 'landed' AND captured_at <= ?)`;
}
