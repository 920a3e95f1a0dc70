import path from 'node:path';
import type { BatchPlan } from '../../core/batch-plan.js';
import type { BatchHost } from '../batch-host.js';
import { planSessionDates } from '../prices/batch.js';
import { FEATURES_DOMAIN, PIPELINES } from './constants.js';

export interface MatrixBatchRequest {
  /** --date: one XNYS session; --from/--to: every session between; default the latest closed session. */
  date?: string;
  from?: string;
  to?: string;
  /** Where the Parquet and CSV exports go (inside access.data_roots). */
  exportDir?: string;
  dryRun?: boolean;
  force?: boolean;
  failFast?: boolean;
  now?: Date;
}

/**
 * `sluice matrix` as a batch plan: one `features.daily_matrix` item per session. Its inputs
 * (every configured symbol's prices and every FRED bucket of that date) are dependencies:
 * a date whose inputs have not landed (run `sluice prices` and `sluice fred` first) is
 * reported as blocked, not run.
 */
export function planMatrixBatch(host: BatchHost, request: MatrixBatchRequest): BatchPlan {
  const dates = planSessionDates(request);
  const dryRun = request.dryRun === true;
  const exportDir = request.exportDir === undefined ? undefined : path.resolve(request.exportDir);
  return {
    domain: FEATURES_DOMAIN,
    scheduler: 'daily_matrix',
    steps: [
      {
        pipeline: PIPELINES.dailyMatrix,
        partitions: dates.map((date) => ({ date })),
        params: exportDir ? { export_dir: exportDir } : undefined,
        run: { force: request.force === true },
      },
    ],
    follow: [],
    dryRun,
    failFast: request.failFast === true,
    warnings: [],
    paramFlags: { export_dir: '--export-dir' },
    config: {
      dates,
      export_dir: exportDir ?? null,
      mode: dryRun ? 'dry-run' : 'run',
      force: request.force === true,
      fail_fast: request.failFast === true,
      database: host.backend,
    },
  };
}
