/**
 * The `sluice` package: what a project's own pipelines and config import.
 *   import { definePipeline, defineConfig, PermanentError } from 'sluice';
 */
export { definePipeline } from './core/pipeline.js';
export type { HandlerContext, HandlerResult, PipelineDefinition, QueuePort } from './core/pipeline.js';
export type { Logger } from './core/logger.js';
export type { HandlerReport, LandedSummary } from './core/handler-result.js';
export type { DependencySpec, PartitionMapping } from './core/dependencies.js';
export type { Partition } from './core/partition.js';
export type { RetryPolicy } from './core/retry-policy.js';
export { PermanentError, SluiceError, ValidationError } from './core/errors.js';
export { defineConfig } from './config/define-config.js';
export type { ConfigPipelineEntry, UserConfig } from './config/define-config.js';
export type { SluiceConfig, SluiceConfigInput } from './config/schema.js';
export { createApp } from './app/create-app.js';
export type { AppOptions, SluiceApp } from './app/create-app.js';
export type { ColumnDef, ColumnType, Dataset, DataRow, DataValue, DataStore, LandInput, LandResult } from './core/data-port.js';
