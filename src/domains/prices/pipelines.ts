import { z } from 'zod';
import type { PipelineDefinition } from '../../core/pipeline.js';
import type { SluiceConfig } from '../../config/schema.js';
import { DEFAULT_BASE_URL, PRICES_DOMAIN } from './constants.js';
import { itemAccessPolicy } from '../access.js';
import { sourcePipeline } from '../source-pipeline.js';
import { priceDayPartition } from './partitions.js';
import { itemSourceParamsShape } from './source.js';

export interface PricesDomainOptions {
  /** The loaded config: a schedule on prices.daily_ohlcv with source params is the default source. */
  config?: SluiceConfig;
  /** Relative `data_dir` in params and config resolves against it (the config's directory). */
  baseDir?: string;
  /** Where SLUICE_PRICES_* are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What an item may carry: paths and URLs checked against the config's access policy (and the vendors' own hosts). */
const itemParams = (options: PricesDomainOptions) =>
  z.strictObject({ ...itemSourceParamsShape(itemAccessPolicy(options, Object.values(DEFAULT_BASE_URL))), force: z.boolean().default(false) });

const DESCRIPTION =
  "Fetches one symbol's daily bar for one XNYS session (CSV directory, Alpha Vantage or Polygon), derives change and change_pct vs the previous bar, and MERGEs it on (symbol, date).";

/** The `prices` pipelines. */
export function pricesPipelines(options: PricesDomainOptions = {}): PipelineDefinition[] {
  return [
    sourcePipeline(
      { domain: PRICES_DOMAIN, name: 'daily_ohlcv', description: DESCRIPTION, partition: priceDayPartition, params: itemParams(options) },
      // A vendor's per-minute limit resets within a minute; unpublished bars within hours.
      { attempts: 6, backoff: [60_000, 2, 30 * 60_000], timeoutMs: 5 * 60_000, concurrency: 2 },
      async () => (await import('./handlers.js')).landDailyBar,
      options,
    ),
  ];
}
