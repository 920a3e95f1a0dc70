import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommandOutput } from '../../config/command-output.js';
import { describeValue, mustRule, SluiceError } from '../../core/errors.js';
import { describeJsonError } from '../../core/json-location.js';
import type { HandlerContext } from '../../core/pipeline.js';
import type { AnomalyCheckSpec } from '../../data/anomaly-checks.js';
import type { LandResult } from '../../data/data-store.js';
import { defineDataset, RowValidationError, type Dataset } from '../../data/dataset.js';

/**
 * The landing half of a command pipeline with `output`: the dataset it declares, the file
 * its script writes (`SLUICE_OUTPUT`), and the land() call that takes those rows through the
 * same path as a built-in's (content hash of the file, skip when unchanged unless forced,
 * staging -> MERGE, manifest, anomaly checks). Rows are validated in full before anything is
 * written; the first bad one fails the attempt naming the file, line (Parquet: row) and
 * column, and that file is kept for inspection.
 */
export function outputDataset(domain: string, output: CommandOutput): Dataset {
  return defineDataset({
    domain,
    name: output.dataset,
    columns: Object.entries(output.columns).map(([name, decl]) => (typeof decl === 'string' ? { name, type: decl } : { name, type: decl.type, required: decl.required })),
    primaryKey: output.primary_key,
  });
}

/** A fresh private folder for one attempt's output file; removed after landing. */
export function outputFile(output: CommandOutput): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-output-'));
  return { file: path.join(dir, `rows.${output.format}`), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A script's output that cannot be read as rows: fails the attempt (the file is the
 * script's doing, so the message names it, the line and what is wrong). */
export class OutputFileError extends SluiceError {
  constructor(message: string) {
    super(message, 'output_file');
  }
}

/** How an output file is named in errors: its path, so the rows can be looked at (a file
 * that failed is kept, see `keepOnFailure`). */
const where = (file: string, format: string) => `SLUICE_OUTPUT ${file} (${format})`;

export async function readOutputRows(file: string, format: CommandOutput['format'], ds?: Dataset): Promise<{ bytes: Buffer; rows: Record<string, unknown>[] }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new OutputFileError(`the command exited 0 but wrote no output file: write the rows to the path in SLUICE_OUTPUT (${format})`);
  }
  if (format === 'parquet') return { bytes, rows: await readParquetRows(file, bytes, ds) };
  const text = bytes.toString('utf8');
  if (format === 'csv') {
    try {
      // csv-parse loads with the first CSV output, not with every command that defines the pipelines.
      const { parse: parseCsv } = await import('csv-parse/sync');
      const records = parseCsv(text, { columns: true, skip_empty_lines: true, info: true, trim: false }) as { record: Record<string, unknown>; info: { lines: number } }[];
      return { bytes, rows: records.map(({ record, info }) => ({ ...record, __line: info.lines })) };
    } catch (err) {
      throw new OutputFileError(`${where(file, format)}: ${(err as Error).message}`);
    }
  }
  const rows: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      const at = describeJsonError(line).replace(/^line 1, /, '');
      throw new OutputFileError(`${where(file, format)} line ${i + 1}, ${at}: must be one JSON object per line`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new OutputFileError(`${where(file, format)} line ${i + 1}, column ${line.length - line.trimStart().length + 1}: must be a JSON object of column values`);
    rows.push({ ...(value as Record<string, unknown>), __line: i + 1 });
  });
  return { bytes, rows };
}

/**
 * Parquet rows as plain column values. hyparquet decodes INT64 as bigint and DATE/TIMESTAMP
 * as Date; the dataset's types take numbers and YYYY-MM-DD text, so those are converted here
 * (a bigint beyond 2^53 becomes text, which an integer column then refuses by name). Parquet
 * has no lines: errors name the row (1-based).
 */
async function readParquetRows(file: string, bytes: Buffer, ds: Dataset | undefined): Promise<Record<string, unknown>[]> {
  // Loaded on demand: only Parquet-writing pipelines pay for the reader.
  const { parquetReadObjects } = await import('hyparquet');
  const types = new Map(ds?.columns.map((c) => [c.name, c.type]) ?? []);
  let records: Record<string, unknown>[];
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    records = (await parquetReadObjects({ file: buffer })) as Record<string, unknown>[];
  } catch (err) {
    throw new OutputFileError(`${where(file, 'parquet')}: must be a Parquet file (${(err as Error).message})`);
  }
  return records.map((record) => {
    const row: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(record)) {
      if (typeof value === 'bigint') row[name] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
      else if (value instanceof Date) row[name] = types.get(name) === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
      else row[name] = value;
    }
    return row;
  });
}

export function outputChecks(output: CommandOutput): AnomalyCheckSpec[] {
  const checks: AnomalyCheckSpec[] = [];
  const c = output.checks ?? {};
  if (c.row_count_drop !== undefined) checks.push({ check: 'row_count_drop', threshold: c.row_count_drop });
  if (c.min_rows !== undefined) checks.push({ check: 'min_rows', min: c.min_rows });
  if (c.required_nulls !== undefined) checks.push({ check: 'required_nulls', max_fraction: c.required_nulls });
  return checks;
}

/** Lands the rows the script wrote. `source` in the capture is the pipeline's output file
 * name, not the temporary path, so a re-run of the same bytes is recognised as unchanged. */
export async function landOutput(ctx: HandlerContext<unknown>, ds: Dataset, output: CommandOutput, file: string, force: boolean): Promise<LandResult> {
  const { bytes, rows } = await readOutputRows(file, output.format, ds);
  await ctx.data.ensureDataset(ds);
  const label = `${ctx.domain}.${ctx.pipeline} SLUICE_OUTPUT (${output.format})`;
  try {
    return await ctx.data.land(ds, { partition: ctx.partition, stage: output.stage, sourceBytes: bytes, rows, source: label, force, checks: outputChecks(output) });
  } catch (err) {
    // The data layer names the line (or row) and column; the script's author also needs the
    // file, which stays on disk for inspection.
    if (err instanceof RowValidationError) throw new OutputFileError(`${where(file, output.format)}: ${err.field}: ${describeValue(err.value)} is invalid: ${mustRule(err.rule)}`);
    throw err;
  }
}
