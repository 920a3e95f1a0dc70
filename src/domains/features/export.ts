import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ColumnSource } from 'hyparquet-writer';
import type { ColumnType, Dataset } from '../../data/dataset.js';

type Value = string | number | boolean | null;

const PARQUET_TYPE: Record<ColumnType, 'STRING' | 'DOUBLE' | 'INT64' | 'BOOLEAN'> = {
  text: 'STRING',
  // Dates as ISO text: readable everywhere (pandas, DuckDB, Spark) without a logical-type mapping.
  date: 'STRING',
  real: 'DOUBLE',
  integer: 'INT64',
  boolean: 'BOOLEAN',
};

/** Parquet bytes of `rows` with the dataset's columns (all nullable), in column order.
 * The writer (~50 modules with hyparquet) is loaded on first use, not by every command
 * that registers this domain's pipelines. */
export async function toParquet(ds: Dataset, rows: readonly Record<string, Value>[]): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const columnData: ColumnSource[] = ds.columns.map((c) => {
    const type = PARQUET_TYPE[c.type];
    const data = rows.map((r) => {
      const v = r[c.name] ?? null;
      return type === 'INT64' && typeof v === 'number' ? BigInt(v) : v;
    });
    return { name: c.name, data, type, nullable: true };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData, createdBy: 'sluice' }));
}

function csvField(v: Value): string {
  if (v === null) return '';
  const text = String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV with a header row; null is an empty field; numbers in their shortest exact form. */
export function toCsv(ds: Dataset, rows: readonly Record<string, Value>[]): string {
  const names = ds.columns.map((c) => c.name);
  const lines = [names.join(','), ...rows.map((r) => names.map((n) => csvField(r[n] ?? null)).join(','))];
  return `${lines.join('\n')}\n`;
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
async function writeAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  // 'wx': never write through something already at the temporary name (a planted symbolic
  // link would redirect the write); the rename then replaces the final name itself.
  await writeFile(tmp, bytes, { flag: 'wx' });
  await rename(tmp, file);
}

export interface ExportedFiles {
  parquet: string;
  csv: string;
}

/** `DIR/<dataset>_<date>.parquet` and `.csv`, replacing earlier exports of the same date. */
export async function exportMatrix(ds: Dataset, dir: string, date: string, rows: readonly Record<string, Value>[]): Promise<ExportedFiles> {
  await mkdir(dir, { recursive: true });
  const base = path.join(dir, `${ds.name}_${date}`);
  const files = { parquet: `${base}.parquet`, csv: `${base}.csv` };
  await writeAtomic(files.parquet, await toParquet(ds, rows));
  await writeAtomic(files.csv, toCsv(ds, rows));
  return files;
}
