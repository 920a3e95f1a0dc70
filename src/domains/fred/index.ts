export * from './constants.js';
export { FRED_DATASETS, observations } from './datasets.js';
export { FredApiError, FredParseError, MISSING, parseFredObservations, type Observation } from './parse.js';
export { bucketPartition, fredPipelines, type FredDomainOptions } from './pipelines.js';
export { monthRows, monthsBetween, type SeriesCapture } from './handlers.js';
export {
  describeMissingSource,
  fetchObservations,
  resolveFredSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type FredSource,
  type FredSourceParams,
} from './source.js';
export { planFredBatch, type FredBatchRequest } from './batch.js';
