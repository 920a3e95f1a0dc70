export * from './constants.js';
export { FINRA_DATASETS, hhi, normalizedWeekly, rawWeekly, rolling, tierSplit, venueShare, venueVolume } from './datasets.js';
export { FinraParseError, parseFinraFile } from './parse.js';
export { finraPipelines, type FinraDomainOptions } from './pipelines.js';
export { isFriday, weekEndingSchema } from './partitions.js';
export { DEFAULT_LOOKBACK_WEEKS, DRY_RUN_MISSING, planFinraBatch, weekEndingOf, type FinraBatchRequest, type FinraStage } from './batch.js';
export {
  candidateFileNames,
  resolveFinraSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  describeMissingSource,
  type FinraSource,
  type FinraSourceParams,
} from './source.js';
