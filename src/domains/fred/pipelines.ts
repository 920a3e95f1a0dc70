import { z } from 'zod';
import type { PipelineDefinition } from '../../core/pipeline.js';
import type { SluiceConfig } from '../../config/schema.js';
import { sessionDateSchema } from '../prices/partitions.js';
import { BUCKETS, BUCKET_NAMES, DEFAULT_BASE_URL, DEFAULT_LOOKBACK_DAYS, FRED_DOMAIN, type Bucket } from './constants.js';
import { itemSourceParamsShape } from './source.js';
import { itemAccessPolicy } from '../access.js';
import { sourcePipeline } from '../source-pipeline.js';

export interface FredDomainOptions {
  config?: SluiceConfig;
  /** Relative `data_dir` in params and config resolves against it (the config's directory). */
  baseDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** fred.ingest_bucket: one bucket of series as of one XNYS session. */
export const bucketPartition = z.strictObject({
  date: sessionDateSchema,
  bucket: z.enum(BUCKET_NAMES as [Bucket, ...Bucket[]], { message: `must be one of ${BUCKET_NAMES.join(', ')}` }),
});

/** What an item may carry: paths and URLs checked against the config's access policy (and FRED's own host). */
const itemParams = (options: FredDomainOptions) =>
  z.strictObject({
    ...itemSourceParamsShape(itemAccessPolicy(options, [DEFAULT_BASE_URL])),
    lookback_days: z.number().int().min(0).max(366).default(DEFAULT_LOOKBACK_DAYS),
    force: z.boolean().default(false),
  });

const DESCRIPTION = `Fetches every series of one bucket (${BUCKET_NAMES.map((b) => `${b}: ${BUCKETS[b].join(', ')}`).join('; ')}) as of one XNYS session and MERGEs the observations into fred.observations on (series_id, date); "." lands as value null.`;

/** The `fred` pipelines. */
export function fredPipelines(options: FredDomainOptions = {}): PipelineDefinition[] {
  return [
    sourcePipeline(
      { domain: FRED_DOMAIN, name: 'ingest_bucket', description: DESCRIPTION, partition: bucketPartition, params: itemParams(options) },
      { attempts: 6, backoff: [60_000, 3, 60 * 60_000], timeoutMs: 10 * 60_000, concurrency: 2 },
      async () => (await import('./handlers.js')).ingestBucket,
      options,
    ),
  ];
}
