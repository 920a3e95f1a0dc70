import { ValidationError } from '../core/errors.js';

/**
 * A dataset is one published table of a domain, e.g. FINRA's `venue_volume`: its columns,
 * their types and its primary key. The data layer stores it in `<domain>__<name>` (lower
 * case, anything outside [a-z0-9_] becomes `_`), one row per (capture, primary key), so
 * every capture's rows are kept and both "latest" and "as-of" reads are plain lookups.
 *
 * Identifiers (table and column names) are validated against IDENT and always quoted; user
 * values never reach SQL text, they are bound as parameters.
 */

export type { ColumnType, ColumnDef, Dataset, DataValue, DataRow } from '../core/data-port.js';
import type { ColumnDef, ColumnType, Dataset, DataValue } from '../core/data-port.js';

export const IDENT = /^[a-z_][a-z0-9_]*$/;
const COLUMN_TYPES: readonly ColumnType[] = ['text', 'integer', 'real', 'date', 'boolean'];
/** Columns every dataset read returns besides the user's (and `capture_seq`, the stored capture number); user columns may not use them. */
export const SYSTEM_COLUMNS = ['capture_id', 'partition_key', 'capture_seq'] as const;
/** Longest table name we derive, so `__staging` and index suffixes stay within PostgreSQL's 63 bytes. */
const MAX_TABLE_NAME = 50;

/** Throws unless `name` is a plain lower-case SQL identifier; returns it. */
export function checkIdent(name: string, field: string): string {
  if (typeof name !== 'string' || !IDENT.test(name) || name.length > 63) {
    throw new ValidationError(field, name, 'be a lower-case identifier matching /^[a-z_][a-z0-9_]*$/ (at most 63 characters)');
  }
  return name;
}

/** Double-quotes an identifier after validating it (the only way names enter SQL text). */
export function quoteIdent(name: string, field = 'identifier'): string {
  return `"${checkIdent(name, field)}"`;
}

/** `finra.otc_transparency` -> `finra_otc_transparency`. */
export function sanitizeName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export interface DatasetTables {
  /** The versioned dataset table: `<domain>__<name>`. */
  readonly table: string;
  /** Staging rows tagged with capture_id, emptied in the same transaction that merges them. */
  readonly staging: string;
}

export function datasetTables(ds: Dataset): DatasetTables {
  const table = `${sanitizeName(ds.domain)}__${sanitizeName(ds.name)}`;
  if (!IDENT.test(table) || table.length > MAX_TABLE_NAME) {
    throw new ValidationError(
      'dataset',
      `${ds.domain}.${ds.name}`,
      `give a table name (${table}) matching /^[a-z_][a-z0-9_]*$/ of at most ${MAX_TABLE_NAME} characters`,
    );
  }
  return { table, staging: `${table}__staging` };
}

/** Validates a definition (names, types, key) and returns it; throws ValidationError. */
export function validateDataset(ds: Dataset): Dataset {
  if (!ds || typeof ds !== 'object') throw new ValidationError('dataset', ds, 'be a dataset definition object');
  if (typeof ds.domain !== 'string' || ds.domain.trim() === '') throw new ValidationError('dataset.domain', ds.domain, 'be a non-empty string');
  if (typeof ds.name !== 'string' || ds.name.trim() === '') throw new ValidationError('dataset.name', ds.name, 'be a non-empty string');
  datasetTables(ds);
  if (!Array.isArray(ds.columns) || ds.columns.length === 0) throw new ValidationError('dataset.columns', ds.columns, 'be a non-empty array of columns');
  const seen = new Set<string>();
  ds.columns.forEach((col, i) => {
    const field = `dataset.columns[${i}]`;
    if (!col || typeof col !== 'object') throw new ValidationError(field, col, 'be {name, type, required?}');
    checkIdent(col.name, `${field}.name`);
    if ((SYSTEM_COLUMNS as readonly string[]).includes(col.name) || col.name.startsWith('__')) {
      throw new ValidationError(`${field}.name`, col.name, `not be ${SYSTEM_COLUMNS.join(' or ')} or start with __ (reserved by the data layer)`);
    }
    if (seen.has(col.name)) throw new ValidationError(`${field}.name`, col.name, 'be unique within the dataset');
    seen.add(col.name);
    if (!COLUMN_TYPES.includes(col.type)) throw new ValidationError(`${field}.type`, col.type, `be one of ${COLUMN_TYPES.join(', ')}`);
    if (col.required !== undefined && typeof col.required !== 'boolean') throw new ValidationError(`${field}.required`, col.required, 'be a boolean');
  });
  if (!Array.isArray(ds.primaryKey) || ds.primaryKey.length === 0) {
    throw new ValidationError('dataset.primaryKey', ds.primaryKey, 'name at least one column');
  }
  const keys = new Set<string>();
  ds.primaryKey.forEach((k, i) => {
    if (!seen.has(k)) throw new ValidationError(`dataset.primaryKey[${i}]`, k, `be one of the dataset's columns (${[...seen].join(', ')})`);
    if (keys.has(k)) throw new ValidationError(`dataset.primaryKey[${i}]`, k, 'appear once');
    keys.add(k);
  });
  return ds;
}

/** Validates and freezes a definition; use it to declare datasets next to their pipelines. */
export function defineDataset(ds: Dataset): Dataset {
  validateDataset(ds);
  return Object.freeze({
    domain: ds.domain,
    name: ds.name,
    columns: Object.freeze(ds.columns.map((c) => Object.freeze({ name: c.name, type: c.type, ...(c.required ? { required: true } : {}) }))),
    primaryKey: Object.freeze([...ds.primaryKey]),
  });
}

/** A value column's type, or `required(type)` for one whose nulls are an anomaly. */
export type ColumnSpec = ColumnType | { readonly type: ColumnType; readonly required: true };

/** Marks a value column that should always be filled (nulls are an anomaly, not a failure). */
export function required(type: ColumnType): ColumnSpec {
  return { type, required: true };
}

export interface KeyedDatasetSpec {
  readonly domain: string;
  readonly name: string;
  /** The primary key's columns, in key order; they come first in the table. */
  readonly key: Readonly<Record<string, ColumnType>>;
  /** The other columns, in table order. */
  readonly values: Readonly<Record<string, ColumnSpec>>;
}

/**
 * `defineDataset` for the usual shape, the key columns first: each column is named once, so
 * the primary key cannot drift from the columns and shared groups (a domain's key, a set of
 * totals) are spread in from one constant. Column order is the maps' order, which is part
 * of the dataset's signature: reordering a map is a schema change.
 */
export function defineKeyedDataset(spec: KeyedDatasetSpec): Dataset {
  const keys = Object.entries(spec.key).map(([name, type]): ColumnDef => ({ name, type }));
  const values = Object.entries(spec.values).map(([name, s]): ColumnDef => (typeof s === 'string' ? { name, type: s } : { name, ...s }));
  return defineDataset({ domain: spec.domain, name: spec.name, columns: [...keys, ...values], primaryKey: Object.keys(spec.key) });
}

/** Canonical JSON of a definition (registry comparison: same table, same shape). */
export function datasetSignature(ds: Dataset): string {
  return JSON.stringify({
    domain: ds.domain,
    name: ds.name,
    columns: ds.columns.map((c) => ({ name: c.name, type: c.type, required: c.required === true })),
    primaryKey: [...ds.primaryKey],
  });
}

export function keyColumns(ds: Dataset): ColumnDef[] {
  return ds.primaryKey.map((k) => ds.columns.find((c) => c.name === k)!);
}

export function valueColumns(ds: Dataset): ColumnDef[] {
  return ds.columns.filter((c) => !ds.primaryKey.includes(c.name));
}

/**
 * A row that broke a rule. `row` is the 1-based position in the rows given to `land`; `line`
 * the source line when rows carry `__line`; `column` the column (for a duplicate key, the key
 * columns joined by `,`). `captureId` is set once the failed capture has been recorded.
 */
export class RowValidationError extends ValidationError {
  captureId: string | null = null;
  constructor(
    readonly row: number,
    readonly line: number | null,
    readonly column: string,
    value: unknown,
    rule: string,
    source?: string,
  ) {
    super(`${line !== null ? `line ${line}` : `row ${row}`}.${column}`, value, rule, source);
  }
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INT_RE = /^[+-]?\d+$/;
const REAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The last date found valid: a dataset's date columns mostly repeat one value (a file's week), checked once per row. */
let lastValidDate: string | null = null;

export function isValidDate(text: string): boolean {
  if (text === lastValidDate) return true;
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return false;
  lastValidDate = text;
  return true;
}

/**
 * Converts one input value to the column's stored form, or returns an error rule.
 * `undefined`, `null` and `''` are all "no value" (CSV empty fields); integers must be safe
 * integers, dates `YYYY-MM-DD` calendar dates, booleans true/false (or 1/0, "true"/"false").
 */
export function coerceValue(type: ColumnType, value: unknown): { ok: true; value: DataValue } | { ok: false; rule: string } {
  if (value === undefined || value === null || value === '') return { ok: true, value: null };
  switch (type) {
    case 'text':
      return typeof value === 'string' ? { ok: true, value } : { ok: false, rule: 'be a string (column type text)' };
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && INT_RE.test(value.trim()) ? Number(value.trim()) : NaN;
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, rule: 'be an integer (column type integer)' };
    }
    case 'real': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && REAL_RE.test(value.trim()) ? Number(value.trim()) : NaN;
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, rule: 'be a finite number (column type real)' };
    }
    case 'date':
      return typeof value === 'string' && isValidDate(value) ? { ok: true, value } : { ok: false, rule: 'be a calendar date YYYY-MM-DD (column type date)' };
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 1 || value === 0) return { ok: true, value: value === 1 };
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return { ok: true, value: value.trim().toLowerCase() === 'true' };
      return { ok: false, rule: 'be true or false (column type boolean)' };
  }
}

/**
 * A value already in its column's stored form (a string for text, a safe integer, a finite
 * number, a calendar date, a boolean), returned as is without the result object of
 * `coerceValue`; undefined when it needs coercing or checking there. Most rows of a parser
 * are all such values, and a result object per value was most of validation's garbage.
 */
function storedAsIs(type: ColumnType, value: unknown): DataValue | undefined {
  switch (type) {
    case 'text':
      return typeof value === 'string' && value !== '' ? value : undefined;
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
    case 'real':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'date':
      return typeof value === 'string' && isValidDate(value) ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
  }
}

export interface ValidatedRows {
  /** One array per row, values in `ds.columns` order, ready to bind. */
  readonly rows: DataValue[][];
  /** Nulls per required non-key column (only columns with at least one null). */
  readonly requiredNulls: ReadonlyMap<string, number>;
}

/** Rows in the landing's form: value arrays in `ds.columns` order and each row's source line, if known. */
export interface ValueRows {
  readonly values: unknown[][];
  readonly lines: readonly (number | null)[] | null;
}

/**
 * Row objects by column name (`__line` their source line) in the landing's form, value
 * arrays in column order. Throws a RowValidationError for a row that is not an object or
 * names a column the dataset does not have.
 */
export function rowObjectsToValues(ds: Dataset, rows: readonly object[], source?: string, offset = 0): ValueRows {
  if (!Array.isArray(rows)) throw new ValidationError('rows', rows, 'be an array of row objects');
  const columns = ds.columns;
  const known = new Set(columns.map((c) => c.name));
  const values: unknown[][] = new Array(rows.length);
  const lines: (number | null)[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const raw = rows[r] as Record<string, unknown> | null | undefined;
    const rowNo = offset + r + 1;
    let line: number | null = null;
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const l = raw.__line;
      if (typeof l === 'number' && Number.isInteger(l)) line = l;
    }
    lines[r] = line;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new RowValidationError(rowNo, line, '*', raw, 'be an object of column values', source);
    }
    // for…in over a plain object: its own keys, without an array of them per row.
    for (const name in raw) {
      if (!known.has(name) && name !== '__line' && Object.hasOwn(raw, name)) {
        throw new RowValidationError(rowNo, line, name, raw[name], `be one of the dataset's columns (${[...known].join(', ')})`, source);
      }
    }
    const v: unknown[] = new Array(columns.length);
    for (let c = 0; c < columns.length; c++) v[c] = raw[columns[c]!.name];
    values[r] = v;
  }
  return { values, lines };
}

/**
 * Checks every row before anything is written: every key column filled, no key twice, every
 * value of its column's type. Rows are value arrays in `ds.columns` order (the landing's
 * form), converted in place to their stored form; a value already in it (what a parser
 * that knows the dataset gives) is left as it is. The first violation throws a
 * RowValidationError naming the row (or its line) and the column. `checkKeys = false` skips
 * the map of keys when the source guarantees them unique (the table's primary key still does).
 */
export function validateValues(ds: Dataset, rows: ValueRows, source?: string, offset = 0, checkKeys = true): ValidatedRows {
  const { values: out, lines } = rows;
  if (!Array.isArray(out)) throw new ValidationError('rows.values', out, 'be an array of value arrays');
  const columns = ds.columns;
  const width = columns.length;
  const types = columns.map((c) => c.type);
  const keyIdx = ds.primaryKey.map((k) => columns.findIndex((c) => c.name === k));
  const keySet = new Set(ds.primaryKey);
  const requiredIdx = columns.map((c, i) => (c.required && !keySet.has(c.name) ? i : -1)).filter((i) => i >= 0);
  const nulls = new Map<string, number>();
  // Key -> index in `rows` of its first row (its line is read back from `lines` if needed).
  const seen = new Map<string, number>();
  const lineOf = (r: number) => lines?.[r] ?? null;
  // What a value converted to null was (undefined, null or ''), for the message of a missing key; read for the current row only.
  const nullInput: unknown[] = new Array(width);

  for (let r = 0; r < out.length; r++) {
    const values = out[r];
    if (!Array.isArray(values) || values.length !== width) {
      throw new RowValidationError(offset + r + 1, lineOf(r), '*', values, `be an array of ${width} values in the dataset's column order`, source);
    }
    for (let c = 0; c < width; c++) {
      const input = values[c];
      if (storedAsIs(types[c]!, input) !== undefined) continue;
      const res = coerceValue(types[c]!, input);
      if (!res.ok) throw new RowValidationError(offset + r + 1, lineOf(r), columns[c]!.name, input, res.rule, source);
      values[c] = res.value;
      if (res.value === null) nullInput[c] = input;
    }
    for (const i of keyIdx) {
      if (values[i] === null) {
        throw new RowValidationError(offset + r + 1, lineOf(r), columns[i]!.name, nullInput[i], 'be present: it is part of the primary key', source);
      }
    }
    if (checkKeys) {
      const key = JSON.stringify(keyIdx.map((i) => values[i]));
      const first = seen.get(key);
      if (first !== undefined) {
        const firstLine = lineOf(first);
        const where = firstLine !== null ? `line ${firstLine}` : `row ${offset + first + 1}`;
        throw new RowValidationError(
          offset + r + 1,
          lineOf(r),
          ds.primaryKey.join(','),
          Object.fromEntries(keyIdx.map((i) => [columns[i]!.name, values[i]])),
          `be unique within one capture (the same primary key is on ${where})`,
          source,
        );
      }
      seen.set(key, r);
    }
    for (const i of requiredIdx) {
      if (values[i] === null) nulls.set(columns[i]!.name, (nulls.get(columns[i]!.name) ?? 0) + 1);
    }
  }
  return { rows: out as DataValue[][], requiredNulls: nulls };
}

/** `validateValues` of row objects by column name (`rowObjectsToValues` first). */
export function validateRows(ds: Dataset, rows: readonly object[], source?: string, offset = 0, checkKeys = true): ValidatedRows {
  return validateValues(ds, rowObjectsToValues(ds, rows, source, offset), source, offset, checkKeys);
}

/**
 * Validates a read filter: keys must be dataset columns (or `partition_key`), values are
 * coerced to the column's type. Returns [column, value] pairs to bind.
 */
export function validateWhere(ds: Dataset, where: Readonly<Record<string, string | number | boolean>> | undefined): [string, DataValue][] {
  if (where === undefined || where === null) return [];
  if (typeof where !== 'object' || Array.isArray(where)) throw new ValidationError('where', where, 'be an object of column: value pairs');
  const out: [string, DataValue][] = [];
  for (const [key, value] of Object.entries(where)) {
    if (key === 'partition_key') {
      if (typeof value !== 'string') throw new ValidationError('where.partition_key', value, 'be a string');
      out.push([key, value]);
      continue;
    }
    const col = ds.columns.find((c) => c.name === key);
    if (!col) throw new ValidationError(`where.${key}`, key, `be one of the dataset's columns (${ds.columns.map((c) => c.name).join(', ')}) or partition_key`);
    const res = coerceValue(col.type, value);
    if (!res.ok) throw new ValidationError(`where.${key}`, value, res.rule);
    if (res.value === null) throw new ValidationError(`where.${key}`, value, 'be a non-empty value');
    out.push([key, res.value]);
  }
  return out;
}
