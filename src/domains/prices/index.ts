export * from './constants.js';
export { PRICES_DATASETS, dailyOhlcv } from './datasets.js';
export { AlphaVantageError, PolygonError, PriceParseError, RateLimitedError, parseAlphaVantageDaily, parseDailyCsv, parsePolygonAggs, type Bar } from './parse.js';
export { isSession, previousSession, priceDayPartition, sessionDateSchema, sessionProblem, sessionsBetween, symbolSchema } from './partitions.js';
export { findBar, priceRow, pricesPipelines, type PriceRow, type PricesDomainOptions } from './pipelines.js';
export { currentPricesRunOptions, runWithPricesOptions, type PricesRunOptions } from './run-options.js';
export {
  describeMissingSource,
  describeSource,
  fetchSeries,
  resolvePriceSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  sourceParamsSchema,
  type FetchedSeries,
  type PriceSource,
  type PriceSourceParams,
} from './source.js';
