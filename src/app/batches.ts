import type { RunResult } from '../core/run-result.js';
import type { BatchHost } from '../domains/batch-host.js';
import { planFinraBatch, type FinraBatchRequest } from '../domains/finra/index.js';
import { planPricesBatch, type PricesBatchRequest } from '../domains/prices/index.js';
import { planFredBatch, type FredBatchRequest } from '../domains/fred/index.js';
import { planMatrixBatch, type MatrixBatchRequest } from '../domains/features/index.js';
import { runBatch } from '../engine/batch-run.js';
import type { SluiceApp } from './create-app.js';

/** What a domain's batch planner needs of an open app. */
export function batchHostOf(app: SluiceApp): BatchHost {
  return { config: app.config, baseDir: app.loaded.baseDir, backend: app.store.backend };
}

/** `sluice finra` without the command line: the domain plans, the engine runs (library use and tests). */
export async function runFinraBatch(app: SluiceApp, request: FinraBatchRequest): Promise<RunResult> {
  return runBatch(app, planFinraBatch(batchHostOf(app), request));
}

/** `sluice prices` without the command line. */
export async function runPricesBatch(app: SluiceApp, request: PricesBatchRequest): Promise<RunResult> {
  return runBatch(app, planPricesBatch(batchHostOf(app), request));
}

/** `sluice fred` without the command line. */
export async function runFredBatch(app: SluiceApp, request: FredBatchRequest): Promise<RunResult> {
  return runBatch(app, planFredBatch(batchHostOf(app), request));
}

/** `sluice matrix` without the command line. */
export async function runMatrixBatch(app: SluiceApp, request: MatrixBatchRequest): Promise<RunResult> {
  return runBatch(app, planMatrixBatch(batchHostOf(app), request));
}
