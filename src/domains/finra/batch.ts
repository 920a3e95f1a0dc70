import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BatchPlan } from '../../core/batch-plan.js';
import { SluiceError, ValidationError } from '../../core/errors.js';
import { isValidDate } from '../../data/dataset.js';
import type { BatchHost } from '../batch-host.js';
import { lastNWeekEndings } from '../../time/partitions.js';
import { zonedDate } from '../../time/zoned.js';
import { COMPUTE_PIPELINES, FINRA_DOMAIN, PIPELINES, TIERS, type Tier } from './constants.js';
import { addDaysIso } from './partitions.js';
import {
  candidateFileNames,
  describeMissingSource,
  resolveFinraSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type FinraSource,
  type FinraSourceParams,
} from './source.js';
import { batchSourceLayers } from '../source-layers.js';

export type FinraStage = 'ingest' | 'normalize' | 'calc' | 'all';

export interface FinraBatchRequest {
  /** Any date of each week (named by its Friday, with a warning when not one); otherwise the last `lookbackWeeks` published weeks. */
  weeks?: string[];
  lookbackWeeks?: number;
  /** Lookback is counted from this date (YYYY-MM-DD; default today in the config's time zone). */
  asOf?: string;
  tiers?: Tier[];
  /** From --source/--data-dir/--base-url; `data_dir` already absolute. */
  source?: FinraSourceParams;
  dryRun?: boolean;
  force?: boolean;
  onlyStage?: FinraStage;
  failFast?: boolean;
  now?: Date;
}

export const DEFAULT_LOOKBACK_WEEKS = 4;

/** Warnings of a dry run whose inputs are missing start with this; the CLI exits 1 then. */
export const DRY_RUN_MISSING = 'dry-run: input missing';

/**
 * `sluice finra` as a batch plan: the roots are the (week, tier) ingests (or, with
 * `--only-stage`, that stage's partitions); normalize and the computes are reached through
 * their `auto` dependencies. The source is resolved here, once (flags, then the
 * environment, then the config), and handed to every handler; `--force` lands even
 * unchanged inputs again (and allows a lookback over the maximum).
 */
export function planFinraBatch(host: BatchHost, request: FinraBatchRequest): BatchPlan {
  const warnings: string[] = [];
  const weeks = planWeeks(host, request, warnings);
  const tiers = request.tiers?.length ? [...new Set(request.tiers)] : [...TIERS];
  const stage = request.onlyStage ?? 'all';
  const dryRun = request.dryRun === true;
  const source = resolveFinraSource(batchSourceLayers(host, request.source, sourceParamsFromEnv, sourceParamsFromConfig));
  const runsIngest = stage === 'all' || stage === 'ingest';
  if (runsIngest && !dryRun && !source) throw new SluiceError(`sluice finra: ${describeMissingSource(request.source?.source)}`, 'invalid_input');
  const perTier = weeks.flatMap((week_ending) => tiers.map((tier) => ({ week_ending, tier })));
  if (dryRun && runsIngest) warnings.push(...describeDryRunInputs(source, perTier, request.source?.source));

  const root =
    stage === 'calc'
      ? null
      : {
          pipeline: stage === 'normalize' ? PIPELINES.normalize : PIPELINES.ingest,
          partitions: perTier,
          params: stage === 'normalize' ? undefined : request.source,
        };
  const run = { force: request.force === true, source: source ? asParams(source) : undefined };
  const steps: BatchPlan['steps'] = root
    ? [{ ...root, run }]
    : COMPUTE_PIPELINES.map((pipeline) => ({ pipeline, partitions: weeks.map((week_ending) => ({ week_ending })), run }));
  // One stage only: what it enqueues downstream is left to a worker pool.
  const follow = stage === 'all' ? [PIPELINES.normalize, ...COMPUTE_PIPELINES] : [];
  return {
    domain: FINRA_DOMAIN,
    scheduler: 'weekly_ingest',
    steps,
    follow,
    dryRun,
    failFast: request.failFast === true,
    warnings,
    paramFlags: { data_dir: '--data-dir', base_url: '--base-url' },
    config: {
      weeks,
      tiers,
      // The lookback used (after the clamp), as the guide's config reports it.
      lookback_weeks: request.weeks?.length ? null : effectiveLookback(host, request),
      as_of: request.asOf ?? null,
      source: source ? (source.kind === 'file' ? { kind: 'file', data_dir: source.dataDir } : { kind: 'http', base_url: source.baseUrl }) : null,
      mode: dryRun ? 'dry-run' : 'run',
      force: request.force === true,
      only_stage: stage,
      fail_fast: request.failFast === true,
      database: host.backend,
    },
  };
}

function asParams(source: FinraSource): FinraSourceParams {
  return source.kind === 'file' ? { source: 'file', data_dir: source.dataDir } : { source: 'http', base_url: source.baseUrl };
}

/**
 * What a dry run would read, checked: for a file source, the file each (week, tier) would
 * land from, or which names were looked for and not found; for an HTTP source the URLs are
 * only named (a dry run makes no requests).
 */
function describeDryRunInputs(
  source: FinraSource | null,
  partitions: readonly { week_ending: string; tier: Tier }[],
  asked: FinraSourceParams['source'],
): string[] {
  if (!source) return [`${DRY_RUN_MISSING}: ${describeMissingSource(asked)}`];
  if (source.kind === 'http') {
    const base = source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`;
    return partitions.map(
      (p) => `dry-run: would fetch ${new URL(candidateFileNames(p.week_ending, p.tier)[0]!, base).toString()} (or its other names; not checked)`,
    );
  }
  if (!existsSync(source.dataDir) || !statSync(source.dataDir).isDirectory()) {
    return [`${DRY_RUN_MISSING}: data directory ${source.dataDir} does not exist (set --data-dir to the directory holding the FINRA files)`];
  }
  return partitions.map((p) => {
    const names = candidateFileNames(p.week_ending, p.tier);
    const found = names.map((n) => path.join(source.dataDir, n)).find((f) => existsSync(f));
    return found
      ? `dry-run: would read ${found} for ${p.tier} week ${p.week_ending}`
      : `${DRY_RUN_MISSING}: ${p.tier} week ${p.week_ending}: none of ${names.join(', ')} in ${source.dataDir}`;
  });
}

function effectiveLookback(host: BatchHost, request: FinraBatchRequest): number {
  const n = request.lookbackWeeks ?? DEFAULT_LOOKBACK_WEEKS;
  const max = host.config.scheduler.max_lookback_weeks;
  return n > max && !request.force ? max : n;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * The Friday naming the (Monday to Sunday) week `date` falls in: a Monday moves forward to
 * its Friday, a weekend back to the Friday before. FINRA names a week by its Friday.
 */
export function weekEndingOf(date: string): string {
  const day = new Date(`${date}T00:00:00Z`).getUTCDay();
  return addDaysIso(date, day === 0 ? -2 : 5 - day);
}

/**
 * The weeks to run: `--weeks` (each date names the week it falls in, by its Friday; a
 * warning says so when it is not the Friday), else the last N weeks FINRA has published as
 * of today (a week is published on the Monday after its Friday), N clamped to
 * `scheduler.max_lookback_weeks` (12) with the guide's warning unless forced.
 */
function planWeeks(host: BatchHost, request: FinraBatchRequest, warnings: string[]): string[] {
  if (request.weeks?.length) {
    if (request.lookbackWeeks !== undefined)
      throw new ValidationError('--weeks', request.weeks.join(','), 'not be combined with --lookback-weeks (give one of them)');
    const fridays = request.weeks.map((w) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(w) || !isValidDate(w))
        throw new ValidationError('--weeks', w, 'be dates YYYY-MM-DD, comma-separated (e.g. 2025-12-15,2025-12-22); each names the week it falls in');
      const friday = weekEndingOf(w);
      if (friday !== w)
        warnings.push(
          `WARNING: --weeks ${w} is a ${WEEKDAYS[new Date(`${w}T00:00:00Z`).getUTCDay()]}; running the week ending Friday ${friday} (a week is named by its Friday)`,
        );
      return friday;
    });
    return [...new Set(fridays)].sort();
  }
  let n = request.lookbackWeeks ?? DEFAULT_LOOKBACK_WEEKS;
  if (!Number.isInteger(n) || n < 1) throw new ValidationError('--lookback-weeks', n, 'be a positive integer');
  const max = host.config.scheduler.max_lookback_weeks;
  if (n > max && !request.force) {
    // The guide's line, verbatim (scripts grep for it); also printed on stderr by the command.
    warnings.push(`WARNING: Lookback ${n} exceeds max ${max}, clamped. Use --force to override.`);
    n = max;
  }
  let asOf: string;
  if (request.asOf !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(request.asOf) || !isValidDate(request.asOf)) throw new ValidationError('--as-of', request.asOf, 'be a date YYYY-MM-DD');
    asOf = request.asOf;
  } else {
    asOf = zonedDate(request.now ?? new Date(), host.config.timezone);
  }
  // Published weeks only: the latest is the Friday at least three days (its Monday) back.
  return lastNWeekEndings(addDaysIso(asOf, -3), n);
}
