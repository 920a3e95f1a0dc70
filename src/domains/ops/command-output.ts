import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { filePieces as FilePieces } from '../../connectors/file-pieces.js';
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
/** The file readers (and node:crypto for the content hash) load with the first landing, not
 * with every command that defines a command pipeline's dataset (`sluice status` among them). */
const readers = () => import('../../connectors/file-pieces.js');

export function outputDataset(domain: string, output: CommandOutput): Dataset {
  return defineDataset({
    domain,
    name: output.dataset,
    columns: Object.entries(output.columns).map(([name, decl]) =>
      typeof decl === 'string' ? { name, type: decl } : { name, type: decl.type, required: decl.required },
    ),
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

/** Rows per chunk handed to the data layer: small, so a chunk's objects die young. */
const OUTPUT_CHUNK_ROWS = 2_000;

type OutputRow = Record<string, unknown>;

/** The subset of csv-parse's incremental parser (`Parser#api`, what its sync and stream APIs both run). */
interface CsvApi {
  parse(buf: Buffer | undefined, end: boolean, push: (r: { record: OutputRow; info: { lines: number } }) => void, close: () => void): Error | undefined;
}

/**
 * The rows of an output file in chunks, read in 1 MiB pieces: NDJSON line by line, CSV
 * through csv-parse's incremental parser, Parquet (which needs its footer first) whole. The
 * reads are synchronous, so a SQLite landing still runs as one synchronous transaction.
 */
export async function outputChunks(file: string, format: CommandOutput['format'], ds?: Dataset): Promise<Iterable<OutputRow[]>> {
  if (format === 'parquet') return [await readParquetRows(file, readFileSync(file), ds)];
  const { filePieces } = await readers();
  if (format === 'ndjson') return ndjsonChunks(file, filePieces);
  // csv-parse loads with the first CSV output, not with every command that defines the pipelines.
  const { Parser } = await import('csv-parse');
  const api = (new Parser({ columns: true, skip_empty_lines: true, info: true, trim: false }) as unknown as { api: CsvApi }).api;
  return csvChunks(file, api, filePieces);
}

function* csvChunks(file: string, api: CsvApi, filePieces: typeof FilePieces): Generator<OutputRow[]> {
  let chunk: OutputRow[] = [];
  const push = ({ record, info }: { record: OutputRow; info: { lines: number } }) => {
    chunk.push({ ...record, __line: info.lines });
  };
  const feed = (buf: Buffer | undefined, end: boolean) => {
    const err = api.parse(buf, end, push, () => undefined);
    if (err) throw new OutputFileError(`${where(file, 'csv')}: ${err.message}`);
  };
  // The parser keeps a view of an unfinished record's bytes, and filePieces reuses its buffer: copy.
  for (const piece of filePieces(file)) {
    feed(Buffer.from(piece), false);
    if (chunk.length >= OUTPUT_CHUNK_ROWS) {
      yield chunk;
      chunk = [];
    }
  }
  feed(undefined, true);
  if (chunk.length) yield chunk;
}

function* ndjsonChunks(file: string, filePieces: typeof FilePieces): Generator<OutputRow[]> {
  let chunk: OutputRow[] = [];
  for (const { text, line } of textLines(filePieces(file))) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      const at = describeJsonError(text).replace(/^line 1, /, '');
      throw new OutputFileError(`${where(file, 'ndjson')} line ${line}, ${at}: must be one JSON object per line`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new OutputFileError(
        `${where(file, 'ndjson')} line ${line}, column ${text.length - text.trimStart().length + 1}: must be a JSON object of column values`,
      );
    chunk.push({ ...(value as OutputRow), __line: line });
    if (chunk.length >= OUTPUT_CHUNK_ROWS) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

/** `\n`-separated lines of UTF-8 pieces (a character split across pieces is decoded whole), numbered from 1. */
function* textLines(pieces: Iterable<Buffer>): Generator<{ text: string; line: number }> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  const split = function* (text: string) {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      yield { text: carry + text.slice(start, nl), line: ++line };
      carry = '';
      start = nl + 1;
    }
    carry += text.slice(start);
  };
  for (const piece of pieces) yield* split(decoder.write(piece));
  yield* split(decoder.end());
  if (carry) yield { text: carry, line: ++line };
}

const missingOutput = (format: string) =>
  new OutputFileError(`the command exited 0 but wrote no output file: write the rows to the path in SLUICE_OUTPUT (${format})`);

/** Every row of an output file at once (for checks of the readers; landing streams them). */
export async function readOutputRows(file: string, format: CommandOutput['format'], ds?: Dataset): Promise<{ bytes: Buffer; rows: OutputRow[] }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw missingOutput(format);
  }
  const rows: OutputRow[] = [];
  for (const chunk of await outputChunks(file, format, ds)) for (const r of chunk) rows.push(r);
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
  if (!existsSync(file)) throw missingOutput(output.format);
  // The content hash is streamed and decides skip-when-unchanged before a row is read; the
  // rows then stream into the landing chunk by chunk (the file is never held whole, but Parquet).
  const contentHash = (await readers()).hashFile(file);
  const chunks = await outputChunks(file, output.format, ds);
  await ctx.data.ensureDataset(ds);
  const label = `${ctx.domain}.${ctx.pipeline} SLUICE_OUTPUT (${output.format})`;
  try {
    return await ctx.data.land(ds, {
      partition: ctx.partition,
      stage: output.stage,
      contentHash,
      rows: { chunks },
      source: label,
      force,
      checks: outputChecks(output),
    });
  } catch (err) {
    // The data layer names the line (or row) and column; the script's author also needs the
    // file, which stays on disk for inspection.
    if (err instanceof RowValidationError)
      throw new OutputFileError(`${where(file, output.format)}: ${err.field}: ${describeValue(err.value)} is invalid: ${mustRule(err.rule)}`);
    throw err;
  }
}
