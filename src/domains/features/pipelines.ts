import path from 'node:path';
import { z } from 'zod';
import type { DependencySpec } from '../../core/dependencies.js';
import { definePipeline, type PipelineDefinition } from '../../core/pipeline.js';
import type { SluiceConfig } from '../../config/schema.js';
import { ALL_SERIES, BUCKET_NAMES, PIPELINES as FRED_PIPELINES } from '../fred/constants.js';
import { observations } from '../fred/datasets.js';
import { PIPELINES as PRICE_PIPELINES, SYMBOL_RE } from '../prices/constants.js';
import { dailyOhlcv } from '../prices/datasets.js';
import { sessionDateSchema } from '../prices/partitions.js';
import { DEFAULT_EXPORT_DIR, DEFAULT_SYMBOLS, EXPORT_DIR_ENV, FEATURES_DOMAIN, MATRIX_VERSION, SYMBOLS_ENV } from './constants.js';
import { dailyMatrix } from './datasets.js';
import { exportMatrix } from './export.js';
import { confinedPath } from '../../connectors/access.js';
import { itemAccessPolicy } from '../access.js';
import { buildMatrix, latestAtOrBefore, type PriceInput, type SeriesValue } from './matrix.js';

export interface FeaturesDomainOptions {
  config?: SluiceConfig;
  /** Relative `export_dir` in params resolves against it (the config's directory). */
  baseDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export const datePartition = z.strictObject({ date: sessionDateSchema });

/** An item's `export_dir` must stay inside the config's data roots (access.data_roots). */
const itemParams = (options: FeaturesDomainOptions) =>
  z.strictObject({
    /** Where `daily_matrix_<date>.parquet` and `.csv` go (default $SLUICE_FEATURES_EXPORT_DIR, else ./exports/features). */
    export_dir: confinedPath(itemAccessPolicy(options)).optional(),
    force: z.boolean().default(false),
  });

function splitSymbols(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s !== '');
}

/**
 * The symbols the matrix covers (its rows, and the prices partitions it waits for), first
 * that says any: $SLUICE_FEATURES_SYMBOLS (comma-separated); the `symbols` of the config's
 * schedules on prices.daily_ohlcv (so the matrix waits for exactly what is scheduled); the
 * bundled demo symbols AAPL, MSFT, NVDA. Fixed when the app starts: dependencies are part of
 * the pipeline's definition.
 */
export function configuredSymbols(options: FeaturesDomainOptions = {}): string[] {
  const fromEnv = (options.env ?? process.env)[SYMBOLS_ENV];
  let symbols: string[] = [];
  if (fromEnv) symbols = splitSymbols(fromEnv);
  if (symbols.length === 0) {
    for (const s of options.config?.schedules ?? []) {
      if (s.pipeline !== PRICE_PIPELINES.dailyOhlcv) continue;
      const value = s.partitions?.symbols ?? s.partitions?.symbol;
      const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
      for (const v of list) if (typeof v === 'string') symbols.push(v.toUpperCase());
    }
  }
  if (symbols.length === 0) symbols = [...DEFAULT_SYMBOLS];
  const unique = [...new Set(symbols)];
  for (const s of unique) if (!SYMBOL_RE.test(s)) throw new Error(`features symbols: ${JSON.stringify(s)} is not a ticker (from ${fromEnv ? SYMBOLS_ENV : 'the prices schedules'})`);
  return unique;
}

/**
 * features.daily_matrix@{date} waits (WAITING) for prices.daily_ohlcv@{date, symbol} of every
 * configured symbol (fan_in over `symbol`) and fred.ingest_bucket@{date, bucket} of every
 * bucket (fan_in over `bucket`), and becomes PENDING in the transaction that completes the
 * last of them.
 *
 * Not `auto`: enqueueing an input does not enqueue the matrix. The matrix of a date is
 * enqueued by its own schedule (or the API / `sluice enqueue`) and simply waits; a price or
 * FRED run for a symbol or date the matrix does not cover creates nothing downstream.
 */
export function matrixDependencies(symbols: readonly string[]): DependencySpec[] {
  return [
    { pipeline: PRICE_PIPELINES.dailyOhlcv, mapping: { kind: 'fan_in', dimension: 'symbol', values: symbols, keys: ['date'] } },
    { pipeline: FRED_PIPELINES.ingestBucket, mapping: { kind: 'fan_in', dimension: 'bucket', values: BUCKET_NAMES, keys: ['date'] } },
  ];
}

/** The `features` pipelines. */
export function featuresPipelines(options: FeaturesDomainOptions = {}): PipelineDefinition[] {
  const symbols = configuredSymbols(options);
  return [
    definePipeline({
      domain: FEATURES_DOMAIN,
      name: 'daily_matrix',
      description: `Joins one session's prices (${symbols.join(', ')}: close, change_pct) with every FRED series' latest value at or before it, MERGEs the matrix on (symbol, date) and exports it as Parquet and CSV.`,
      partition: datePartition,
      params: itemParams(options),
      dependsOn: matrixDependencies(symbols),
      retry: { maxAttempts: 3, baseDelayMs: 10_000, factor: 3, maxDelayMs: 10 * 60_000 },
      timeoutMs: 5 * 60_000,
      concurrency: 2,
      handler: async (ctx) => {
        const date = String(ctx.partition.date);
        const prices = new Map<string, PriceInput>();
        const inputs: unknown[] = [];
        for (const symbol of symbols) {
          const [row] = await ctx.data.latest(dailyOhlcv, { where: { symbol, date } });
          if (!row || typeof row.close !== 'number') {
            throw new Error(`${PRICE_PIPELINES.dailyOhlcv} has no landed bar for ${symbol} on ${date}; the matrix needs every configured symbol (${symbols.join(', ')})`);
          }
          prices.set(symbol, { close: row.close, change_pct: typeof row.change_pct === 'number' ? row.change_pct : null });
          inputs.push(row.capture_id);
        }
        const values = new Map<string, SeriesValue | null>();
        const warnings: string[] = [];
        for (const seriesId of ALL_SERIES) {
          const value = latestAtOrBefore(await ctx.data.latest(observations, { where: { series_id: seriesId } }), date);
          if (!value) warnings.push(`${seriesId}: no value at or before ${date} in fred.observations; its columns are null`);
          values.set(seriesId, value);
        }
        const rows = buildMatrix(date, symbols, prices, ALL_SERIES, values);
        const result = await ctx.data.land(dailyMatrix, {
          partition: ctx.partition,
          stage: 'daily_matrix',
          sourceBytes: JSON.stringify({ version: MATRIX_VERSION, rows }),
          rows,
          source: `prices ${inputs.join(', ')}; fred.observations at or before ${date}`,
          force: ctx.run?.force ?? ctx.params.force,
        });
        const exports = await exportMatrix(dailyMatrix, exportDir(ctx.params.export_dir, options), date, rows);
        ctx.output(`${result.status} ${result.capture_id}: ${rows.length} rows; exported ${exports.parquet} and ${exports.csv}\n`);
        return { ...result, exports, warnings };
      },
    }),
  ];
}

function exportDir(param: string | undefined, options: FeaturesDomainOptions): string {
  const cwd = process.cwd();
  if (param) return path.resolve(options.baseDir ?? cwd, param);
  const env = (options.env ?? process.env)[EXPORT_DIR_ENV];
  return path.resolve(cwd, env || DEFAULT_EXPORT_DIR);
}
