import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { CommandOutput } from '../../config/command-output.js';
import { SluiceError } from '../../core/errors.js';
import { describeJsonError } from '../../core/json-location.js';
import type { HandlerContext } from '../../core/pipeline.js';
import type { AnomalyCheckSpec } from '../../data/anomaly-checks.js';
import type { LandResult } from '../../data/data-store.js';
import { defineDataset, type Dataset } from '../../data/dataset.js';

/**
 * The landing half of a command pipeline with `output`: the dataset it declares, the file
 * its script writes (`SLUICE_OUTPUT`), and the land() call that takes those rows through the
 * same path as a built-in's (content hash of the file, skip when unchanged unless forced,
 * staging -> MERGE, manifest, anomaly checks). Rows are validated in full before anything is
 * written; the first bad one fails the attempt naming the file, line and column.
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
  return { file: path.join(dir, output.format === 'csv' ? 'rows.csv' : 'rows.ndjson'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A script's output that cannot be read as rows: fails the attempt (the file is the
 * script's doing, so the message names it, the line and what is wrong). */
export class OutputFileError extends SluiceError {
  constructor(message: string) {
    super(message, 'output_file');
  }
}

export function readOutputRows(file: string, format: CommandOutput['format']): { bytes: Buffer; rows: Record<string, unknown>[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new OutputFileError(`the command exited 0 but wrote no output file: write the rows to the path in SLUICE_OUTPUT (${format})`);
  }
  const text = bytes.toString('utf8');
  if (format === 'csv') {
    try {
      const records = parseCsv(text, { columns: true, skip_empty_lines: true, info: true, trim: false }) as { record: Record<string, unknown>; info: { lines: number } }[];
      return { bytes, rows: records.map(({ record, info }) => ({ ...record, __line: info.lines })) };
    } catch (err) {
      throw new OutputFileError(`SLUICE_OUTPUT (csv): ${(err as Error).message}`);
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
      throw new OutputFileError(`SLUICE_OUTPUT (ndjson) line ${i + 1}, ${at}: must be one JSON object per line`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new OutputFileError(`SLUICE_OUTPUT (ndjson) line ${i + 1}, column ${line.length - line.trimStart().length + 1}: must be a JSON object of column values`);
    rows.push({ ...(value as Record<string, unknown>), __line: i + 1 });
  });
  return { bytes, rows };
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
  const { bytes, rows } = readOutputRows(file, output.format);
  await ctx.data.ensureDataset(ds);
  const label = `${ctx.domain}.${ctx.pipeline} SLUICE_OUTPUT (${output.format})`;
  return ctx.data.land(ds, { partition: ctx.partition, stage: output.stage, sourceBytes: bytes, rows, source: label, force, checks: outputChecks(output) });
}
