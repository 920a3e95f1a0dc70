import path from 'node:path';
import type { HandlerContext, HandlerResult } from '../../core/pipeline.js';
import { ALL_SERIES } from '../fred/constants.js';
import { observations } from '../fred/datasets.js';
import { PIPELINES as PRICE_PIPELINES } from '../prices/constants.js';
import { dailyOhlcv } from '../prices/datasets.js';
import { DEFAULT_EXPORT_DIR, EXPORT_DIR_ENV, MATRIX_VERSION } from './constants.js';
import { dailyMatrix } from './datasets.js';
import { exportMatrix } from './export.js';
import { buildMatrix, latestAtOrBefore, type PriceInput, type SeriesValue } from './matrix.js';
import type { FeaturesDomainOptions } from './pipelines.js';

/** What features.daily_matrix does when an item runs; imported on its first run (pipelines.ts holds the definition). */

/** features.daily_matrix: one session's prices of `symbols` joined with every FRED series, landed and exported. */
export async function buildDailyMatrix(
  ctx: HandlerContext<{ export_dir?: string; force: boolean }>,
  symbols: readonly string[],
  options: FeaturesDomainOptions,
): Promise<HandlerResult> {
  const date = String(ctx.partition.date);
  const prices = new Map<string, PriceInput>();
  const inputs: unknown[] = [];
  for (const symbol of symbols) {
    const [row] = await ctx.data.latest(dailyOhlcv, { where: { symbol, date } });
    if (!row || typeof row.close !== 'number') {
      throw new Error(
        `${PRICE_PIPELINES.dailyOhlcv} has no landed bar for ${symbol} on ${date}; the matrix needs every configured symbol (${symbols.join(', ')})`,
      );
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
}

function exportDir(param: string | undefined, options: FeaturesDomainOptions): string {
  const cwd = process.cwd();
  if (param) return path.resolve(options.baseDir ?? cwd, param);
  const env = (options.env ?? process.env)[EXPORT_DIR_ENV];
  return path.resolve(cwd, env || DEFAULT_EXPORT_DIR);
}
