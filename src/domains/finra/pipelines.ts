import { z } from 'zod';
import { definePipeline, lazyHandler, type PipelineDefinition } from '../../core/pipeline.js';
import type { SluiceConfig } from '../../config/schema.js';
import { DEFAULT_MAX_REJECT_SHARE } from '../../data/reject-threshold.js';
import { FINRA_DOMAIN, PIPELINES, ROLLING_WEEKS, TIERS } from './constants.js';
import { weekPartition, weekTierPartition } from './partitions.js';
import { itemSourceParamsShape } from './source.js';
import { itemAccessPolicy } from '../access.js';
import { sourcePipeline } from '../source-pipeline.js';

export interface FinraDomainOptions {
  /** The loaded config: a schedule on ingest_week with source params is the default source. */
  config?: SluiceConfig;
  /** Relative `data_dir` in params and config resolves against it (the config's directory). */
  baseDir?: string;
  /** Where SLUICE_FINRA_* are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** More rejected rows than this share (or all of them) fails the capture; see reject-threshold.ts. */
const maxRejectShare = z.number().min(0, 'be a number from 0 to 1').max(1, 'be a number from 0 to 1').default(DEFAULT_MAX_REJECT_SHARE);
/** What an item may carry: paths and URLs checked against the config's access policy. */
const ingestItemParams = (options: FinraDomainOptions) =>
  z.strictObject({ ...itemSourceParamsShape(itemAccessPolicy(options)), force: z.boolean().default(false), max_reject_share: maxRejectShare });
const stageParams = z.strictObject({ force: z.boolean().default(false) });

const ingestDep = [{ pipeline: PIPELINES.ingest, mapping: { kind: 'identity' as const }, auto: true }];
const allTiersNormalized = [{ pipeline: PIPELINES.normalize, mapping: { kind: 'fan_in' as const, dimension: 'tier', values: TIERS }, auto: true }];

const computeRetry = { maxAttempts: 3, baseDelayMs: 5_000, factor: 3, maxDelayMs: 5 * 60_000 };

const INGEST_DESCRIPTION = 'Fetches one week of one tier (file or HTTP), checks its structure, lands its rows as a capture (unchanged bytes are skipped).';

// The handlers (fetch, parse, analytics, landing) are loaded when an item first runs.
const handlers = () => import('./handlers.js');

/** The `finra.otc_transparency` pipelines. */
export function finraPipelines(options: FinraDomainOptions = {}): PipelineDefinition[] {
  return [
    sourcePipeline(
      { domain: FINRA_DOMAIN, name: 'ingest_week', description: INGEST_DESCRIPTION, partition: weekTierPartition, params: ingestItemParams(options) },
      { attempts: 5, backoff: [60_000, 2, 30 * 60_000], timeoutMs: 10 * 60_000, concurrency: 3 },
      async () => (await handlers()).ingestWeek,
      options,
    ),
    definePipeline({
      domain: FINRA_DOMAIN,
      name: 'normalize_week',
      description: 'Validates the latest ingest capture of one week and tier (tier codes, symbols, MPIDs, counts, dates) and lands the normalized rows.',
      partition: weekTierPartition,
      params: stageParams,
      dependsOn: ingestDep,
      retry: computeRetry,
      timeoutMs: 5 * 60_000,
      handler: lazyHandler(async () => (await handlers()).normalizeWeek),
    }),
    computePipeline('compute_venue_volume', 'Per (week, tier, symbol, venue): weekly shares, trades and average trade size.'),
    computePipeline('compute_venue_share', "Each venue's fraction of a symbol's (and a tier's) weekly shares, ranked."),
    computePipeline('compute_hhi', 'Herfindahl-Hirschman index of venue concentration per (week, tier, symbol), 0-10000.'),
    computePipeline('compute_tier_split', "Per (week, symbol): shares in each tier and each tier's fraction, across all tiers' latest captures."),
    computePipeline(
      'compute_rolling',
      `Per symbol over the ${ROLLING_WEEKS} weeks ending at the partition's week: shares, trades, average week, trend; incomplete when weeks are missing.`,
    ),
  ];
}

/** One compute pipeline over a week: waits for every tier's normalize_week, lands one dataset. */
function computePipeline(name: string, description: string) {
  return definePipeline({
    domain: FINRA_DOMAIN,
    name,
    description,
    partition: weekPartition,
    params: stageParams,
    dependsOn: allTiersNormalized,
    retry: computeRetry,
    timeoutMs: 5 * 60_000,
    handler: lazyHandler(async () => {
      const { computeRolling, computeWeek } = await handlers();
      return name === 'compute_rolling' ? computeRolling : (ctx) => computeWeek(ctx, name);
    }),
  });
}
