import { z } from 'zod';
import type { DependencySpec } from '../../core/dependencies.js';
import { definePipeline, lazyHandler, type PipelineDefinition } from '../../core/pipeline.js';
import type { SluiceConfig } from '../../config/schema.js';
import { BUCKET_NAMES, PIPELINES as FRED_PIPELINES } from '../fred/constants.js';
import { PIPELINES as PRICE_PIPELINES, SYMBOL_RE } from '../prices/constants.js';
import { sessionDateSchema } from '../prices/partitions.js';
import { DEFAULT_SYMBOLS, FEATURES_DOMAIN, SYMBOLS_ENV } from './constants.js';
import { confinedPath } from '../../connectors/access.js';
import { itemAccessPolicy } from '../access.js';

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
  for (const s of unique)
    if (!SYMBOL_RE.test(s)) throw new Error(`features symbols: ${JSON.stringify(s)} is not a ticker (from ${fromEnv ? SYMBOLS_ENV : 'the prices schedules'})`);
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
      handler: lazyHandler(async () => {
        const { buildDailyMatrix } = await import('./handlers.js');
        return (ctx) => buildDailyMatrix(ctx, symbols, options);
      }),
    }),
  ];
}
