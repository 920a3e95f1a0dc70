export * from './constants.js';
export { FEATURES_DATASETS, dailyMatrix, seriesColumn } from './datasets.js';
export { exportMatrix, toCsv, toParquet, type ExportedFiles } from './export.js';
export { buildMatrix, latestAtOrBefore, type MatrixRow, type PriceInput, type SeriesValue } from './matrix.js';
export { configuredSymbols, datePartition, featuresPipelines, matrixDependencies, type FeaturesDomainOptions } from './pipelines.js';
export { planMatrixBatch, type MatrixBatchRequest } from './batch.js';
