import type { BatchPlan } from '../../core/batch-plan.js';
import { SluiceError, ValidationError } from '../../core/errors.js';
import type { BatchHost } from '../batch-host.js';
import { planSessionDates } from '../prices/batch.js';
import { BUCKET_NAMES, FRED_DOMAIN, PIPELINES, type Bucket } from './constants.js';
import { describeMissingSource, resolveFredSource, sourceParamsFromConfig, sourceParamsFromEnv, type FredSource, type FredSourceParams } from './source.js';
import { batchSourceLayers } from '../source-layers.js';

export interface FredBatchRequest {
  /** --date: one XNYS session; --from/--to: every session between; default the latest closed session. */
  date?: string;
  from?: string;
  to?: string;
  /** Default: every bucket. */
  buckets?: string[];
  /** From --source/--data-dir/--base-url; `data_dir` already absolute. */
  source?: FredSourceParams;
  /** Days before each date whose calendar months are re-read (late publications land as revisions). */
  lookbackDays?: number;
  dryRun?: boolean;
  force?: boolean;
  failFast?: boolean;
  now?: Date;
}

/**
 * `sluice fred` as a batch plan: one `fred.ingest_bucket` item per (session, bucket). The
 * source is resolved once (flags, environment, config) and handed to every handler; each
 * item lands every series-month it covers, skipping what is unchanged.
 */
export function planFredBatch(host: BatchHost, request: FredBatchRequest): BatchPlan {
  const dates = planSessionDates(request);
  const buckets = request.buckets?.length ? [...new Set(request.buckets)] : [...BUCKET_NAMES];
  for (const b of buckets)
    if (!(BUCKET_NAMES as readonly string[]).includes(b)) throw new ValidationError('--buckets', b, `be one of ${BUCKET_NAMES.join(', ')} (comma-separated)`);
  if (request.lookbackDays !== undefined && (!Number.isInteger(request.lookbackDays) || request.lookbackDays < 0 || request.lookbackDays > 366)) {
    throw new ValidationError('--lookback-days', request.lookbackDays, 'be a whole number of days from 0 to 366');
  }
  const dryRun = request.dryRun === true;
  const source = resolveFredSource(batchSourceLayers(host, request.source, sourceParamsFromEnv, sourceParamsFromConfig));
  if (!dryRun && !source)
    throw new SluiceError(`sluice fred: ${describeMissingSource()} (or pass --source file --data-dir DIR / --source api)`, 'invalid_input');
  const params: Record<string, unknown> | undefined =
    request.source || request.lookbackDays !== undefined
      ? { ...request.source, ...(request.lookbackDays !== undefined ? { lookback_days: request.lookbackDays } : {}) }
      : undefined;
  return {
    domain: FRED_DOMAIN,
    scheduler: 'fred_buckets',
    steps: [
      {
        pipeline: PIPELINES.ingestBucket,
        partitions: dates.flatMap((date) => (buckets as Bucket[]).map((bucket) => ({ date, bucket }))),
        params,
        run: { force: request.force === true, source: source ? asParams(source) : undefined },
      },
    ],
    follow: [],
    dryRun,
    failFast: request.failFast === true,
    warnings: [],
    paramFlags: { data_dir: '--data-dir', base_url: '--base-url', lookback_days: '--lookback-days' },
    config: {
      dates,
      buckets,
      source: source
        ? source.kind === 'file'
          ? { kind: 'file', data_dir: source.dataDir }
          : { kind: 'http', base_url: source.baseUrl, rate_limit_per_minute: source.perMinute }
        : null,
      lookback_days: request.lookbackDays ?? null,
      mode: dryRun ? 'dry-run' : 'run',
      force: request.force === true,
      fail_fast: request.failFast === true,
      database: host.backend,
    },
  };
}

function asParams(source: FredSource): FredSourceParams {
  return source.kind === 'file'
    ? { source: 'file', data_dir: source.dataDir }
    : { source: 'http', base_url: source.baseUrl, rate_limit_per_minute: source.perMinute };
}
