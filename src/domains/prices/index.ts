export * from './constants.js';
export { PRICES_DATASETS, dailyOhlcv } from './datasets.js';
export {
  AlphaVantageError,
  PolygonError,
  PriceParseError,
  RateLimitedError,
  parseAlphaVantageDaily,
  parseDailyCsv,
  parsePolygonAggs,
  type Bar,
} from './parse.js';
export { isSession, previousSession, priceDayPartition, sessionDateSchema, sessionProblem, sessionsBetween, symbolSchema } from './partitions.js';
export { pricesPipelines, type PricesDomainOptions } from './pipelines.js';
export { findBar, priceRow, type PriceRow, type PricesBatchState } from './handlers.js';
export { DEFAULT_MAX_SYMBOLS, DEFAULT_SLEEP_SECONDS, planPricesBatch, planSessionDates, type PricesBatchRequest } from './batch.js';
export { mockSeries } from './mock.js';
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
