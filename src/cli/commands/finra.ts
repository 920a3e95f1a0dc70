import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SluiceError, ValidationError } from '../../core/errors.js';
import { partitionKey } from '../../core/partition.js';
import { buildRunResult, emptyRunEntry, exitCodeFor, type Anomaly, type RunEntry, type RunResult } from '../../core/run-result.js';
import type { SluiceApp } from '../../app/create-app.js';
import {
  COMPUTE_PIPELINES,
  FINRA_DOMAIN,
  PIPELINES,
  TIERS,
  candidateFileNames,
  describeMissingSource,
  isFriday,
  resolveFinraSource,
  runWithFinraOptions,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type FinraSource,
  type FinraSourceParams,
  type Tier,
} from '../../domains/finra/index.js';
import { runInline } from '../../engine/run-inline.js';
import { lastNWeekEndings } from '../../time/partitions.js';
import { zonedDate } from '../../time/zoned.js';
import { checkSourceFlags, parseHttpUrl, parseIntOption, printJson, withApp } from '../context.js';
import { printRunResult } from './run.js';

export type FinraStage = 'ingest' | 'normalize' | 'calc' | 'all';

export interface FinraBatchRequest {
  /** Explicit week_ending Fridays; otherwise the last `lookbackWeeks` published weeks. */
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

const DEFAULT_LOOKBACK_WEEKS = 4;

/**
 * `sluice finra`: ingest, normalize and compute the FINRA OTC weeks inline, stage by stage
 * (each stage through `runInline`, so the queue keeps the same history a worker pool
 * would leave), merged into one run result.
 *
 * Every stage re-runs its partitions even if they are COMPLETE: the handlers themselves
 * skip what is unchanged (same source bytes, same upstream captures), so a re-run reports
 * `skipped: unchanged` and a restated file flows through normalize and the computes.
 * `--force` lands even unchanged inputs again (and allows a lookback over the maximum).
 */
export async function runFinraBatch(app: SluiceApp, request: FinraBatchRequest): Promise<RunResult> {
  const startedAt = new Date();
  const warnings: string[] = [];
  const weeks = planWeeks(app, request, warnings);
  const tiers = request.tiers?.length ? [...new Set(request.tiers)] : [...TIERS];
  const stage = request.onlyStage ?? 'all';
  const dryRun = request.dryRun === true;
  // The flags' source is recorded on the items, so it must pass the same access checks as params.
  checkSourceFlags(app, PIPELINES.ingest, request.source);
  const source = resolveFinraSource([
    { params: request.source, baseDir: process.cwd() },
    { params: sourceParamsFromEnv(process.env), baseDir: process.cwd() },
    { params: sourceParamsFromConfig(app.config), baseDir: app.loaded.baseDir },
  ]);
  const runsIngest = stage === 'all' || stage === 'ingest';
  if (runsIngest && !dryRun && !source) {
    throw new SluiceError(`sluice finra: ${describeMissingSource(request.source?.source)}`, 'invalid_input');
  }

  const perTier = weeks.flatMap((week_ending) => tiers.map((tier) => ({ week_ending, tier })));
  if (dryRun && runsIngest) warnings.push(...describeDryRunInputs(source, perTier, request.source?.source));
  const perWeek = weeks.map((week_ending) => ({ week_ending }));
  const plan: { pipeline: string; partitions: Record<string, string>[] }[] = [];
  if (runsIngest) plan.push({ pipeline: PIPELINES.ingest, partitions: perTier });
  if (stage === 'all' || stage === 'normalize') plan.push({ pipeline: PIPELINES.normalize, partitions: perTier });
  if (stage === 'all' || stage === 'calc') for (const p of COMPUTE_PIPELINES) plan.push({ pipeline: p, partitions: perWeek });

  const runs: RunEntry[] = [];
  const anomalies: Anomaly[] = [];
  let stopped = false;
  for (const step of plan) {
    if (step.partitions.length === 0) continue;
    if (stopped) {
      for (const p of step.partitions) runs.push({ ...emptyRunEntry(step.pipeline, partitionKey(p)), not_run: true, reason: 'not run: an earlier partition failed and --fail-fast is set' });
      continue;
    }
    const result = await runWithFinraOptions({ source: request.source, force: request.force === true }, () =>
      runInline(app, {
        pipeline: step.pipeline,
        partitions: step.partitions,
        // Recorded on new ingest items, so a worker retrying them later reads the same source.
        params: step.pipeline === PIPELINES.ingest && request.source ? request.source : undefined,
        force: true,
        dryRun,
        failFast: request.failFast,
      }),
    );
    runs.push(...result.runs);
    anomalies.push(...result.anomalies);
    warnings.push(...result.warnings);
    if (request.failFast && result.stats.failed > 0) stopped = true;
  }

  return buildRunResult({
    domain: FINRA_DOMAIN,
    scheduler: 'weekly_ingest',
    startedAt,
    dryRun,
    runs,
    anomalies,
    warnings,
    config: {
      weeks,
      tiers,
      // The lookback used (after the clamp), as the guide's config reports it.
      lookback_weeks: request.weeks?.length ? null : effectiveLookback(app, request),
      as_of: request.asOf ?? null,
      source: source ? (source.kind === 'file' ? { kind: 'file', data_dir: source.dataDir } : { kind: 'http', base_url: source.baseUrl }) : null,
      mode: dryRun ? 'dry-run' : 'run',
      force: request.force === true,
      only_stage: stage,
      fail_fast: request.failFast === true,
      database: app.store.backend,
    },
  });
}

/** Warnings of a dry run whose inputs are missing start with this; the CLI exits 1 then. */
export const DRY_RUN_MISSING = 'dry-run: input missing';

/**
 * What a dry run would read, checked: for a file source, the file each (week, tier) would
 * land from, or which names were looked for and not found; for an HTTP source the URLs are
 * only named (a dry run makes no requests).
 */
function describeDryRunInputs(source: FinraSource | null | undefined, partitions: readonly { week_ending: string; tier: Tier }[], asked: FinraSourceParams["source"]): string[] {
  if (!source) return [`${DRY_RUN_MISSING}: ${describeMissingSource(asked)}`];
  if (source.kind === 'http') return partitions.map((p) => `dry-run: would fetch ${new URL(candidateFileNames(p.week_ending, p.tier)[0]!, source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`).toString()} (or its other names; not checked)`);
  if (!existsSync(source.dataDir) || !statSync(source.dataDir).isDirectory()) {
    return [`${DRY_RUN_MISSING}: data directory ${source.dataDir} does not exist (set --data-dir to the directory holding the FINRA files)`];
  }
  return partitions.map((p) => {
    const names = candidateFileNames(p.week_ending, p.tier);
    const found = names.map((n) => path.join(source.dataDir, n)).find((f) => existsSync(f));
    return found ? `dry-run: would read ${found} for ${p.tier} week ${p.week_ending}` : `${DRY_RUN_MISSING}: ${p.tier} week ${p.week_ending}: none of ${names.join(', ')} in ${source.dataDir}`;
  });
}

function effectiveLookback(app: SluiceApp, request: FinraBatchRequest): number {
  const n = request.lookbackWeeks ?? DEFAULT_LOOKBACK_WEEKS;
  const max = app.config.scheduler.max_lookback_weeks;
  return n > max && !request.force ? max : n;
}

/**
 * The weeks to run: `--weeks` as given (each a Friday), else the last N weeks FINRA has
 * published as of today (a week is published on the Monday after its Friday), N clamped to
 * `scheduler.max_lookback_weeks` (12) with a warning unless forced.
 */
function planWeeks(app: SluiceApp, request: FinraBatchRequest, warnings: string[]): string[] {
  if (request.weeks?.length) {
    if (request.lookbackWeeks !== undefined) throw new ValidationError('--weeks', request.weeks.join(','), 'not be combined with --lookback-weeks (give one of them)');
    request.weeks.forEach((w) => {
      if (!isFriday(w)) throw new ValidationError('--weeks', w, 'be week_ending Fridays as YYYY-MM-DD, comma-separated (e.g. 2025-12-19,2025-12-12)');
    });
    return [...new Set(request.weeks)].sort();
  }
  let n = request.lookbackWeeks ?? DEFAULT_LOOKBACK_WEEKS;
  if (!Number.isInteger(n) || n < 1) throw new ValidationError('--lookback-weeks', n, 'be a positive integer');
  const max = app.config.scheduler.max_lookback_weeks;
  if (n > max && !request.force) {
    // The guide's line, verbatim (scripts grep for it); also printed on stderr by the command.
    warnings.push(`WARNING: Lookback ${n} exceeds max ${max}, clamped. Use --force to override.`);
    n = max;
  }
  let asOf: string;
  if (request.asOf !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(request.asOf) || Number.isNaN(Date.parse(`${request.asOf}T00:00:00Z`))) {
      throw new ValidationError('--as-of', request.asOf, 'be a date YYYY-MM-DD');
    }
    asOf = request.asOf;
  } else {
    asOf = zonedDate(request.now ?? new Date(), app.config.timezone);
  }
  // Published weeks only: the latest is the Friday at least three days (its Monday) back.
  const d = new Date(`${asOf}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 3);
  return lastNWeekEndings(d.toISOString().slice(0, 10), n);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseTiers(value: string): Tier[] {
  const tiers = splitList(value);
  if (tiers.length === 0) throw new ValidationError('--tiers', value, `list at least one of ${TIERS.join(', ')}`);
  for (const t of tiers) if (!(TIERS as readonly string[]).includes(t)) throw new ValidationError('--tiers', t, `be one of ${TIERS.join(', ')} (comma-separated)`);
  return tiers as Tier[];
}

function sourceFromFlags(opts: { source?: 'file' | 'http'; dataDir?: string; baseUrl?: string }): FinraSourceParams | undefined {
  if (!opts.source && !opts.dataDir && !opts.baseUrl) return undefined;
  if (opts.source === 'file' && opts.baseUrl && !opts.dataDir) throw new ValidationError('--base-url', opts.baseUrl, 'go with --source http (or use --data-dir with --source file)');
  if (opts.source === 'http' && opts.dataDir && !opts.baseUrl) throw new ValidationError('--data-dir', opts.dataDir, 'go with --source file (or use --base-url with --source http)');
  const out: FinraSourceParams = {};
  out.source = opts.source ?? (opts.dataDir ? 'file' : 'http');
  if (opts.dataDir) out.data_dir = path.resolve(opts.dataDir);
  if (opts.baseUrl) out.base_url = parseHttpUrl(opts.baseUrl, '--base-url');
  return out;
}

export function registerFinra(program: Command): void {
  program
    .command('finra')
    .description('Ingest, normalize and compute FINRA OTC transparency weeks now, in this process; prints a run result (exit 0 success/dry-run, 1 failure, 2 partial)')
    .option('--lookback-weeks <n>', `the last N published weeks (default ${DEFAULT_LOOKBACK_WEEKS}; over scheduler.max_lookback_weeks is clamped unless --force)`, parseIntOption('--lookback-weeks'))
    .option('--as-of <date>', 'count --lookback-weeks back from this date (YYYY-MM-DD) instead of today')
    .option('--weeks <fridays>', 'week_ending Fridays, comma-separated, e.g. 2025-12-19,2025-12-12 (instead of --lookback-weeks)', splitList)
    .option('--tiers <tiers>', `comma-separated tiers (default all: ${TIERS.join(',')})`, parseTiers)
    .addOption(new Option('--source <kind>', 'where the files come from (default: inferred from --data-dir/--base-url, else the config)').choices(['file', 'http']))
    .option('--data-dir <dir>', 'directory of tier1_YYYYMMDD.csv / tier2_… / otc_… files (optionally prefixed finra_otc_weekly_)')
    .option('--base-url <url>', 'URL the same file names are under')
    .addOption(new Option('--mode <mode>', 'run, or dry-run to only show what would run').choices(['run', 'dry-run']).default('run'))
    .option('--force', 'land even unchanged files again; allow a lookback over the maximum')
    .addOption(new Option('--only-stage <stage>', 'run one stage only').choices(['ingest', 'normalize', 'calc', 'all']).default('all'))
    .option('--fail-fast', 'stop at the first failed partition')
    .option('--json', 'print the run result JSON')
    .action(async (opts, command: Command) => {
      const request: FinraBatchRequest = {
        weeks: opts.weeks,
        lookbackWeeks: opts.lookbackWeeks,
        asOf: opts.asOf,
        tiers: opts.tiers,
        source: sourceFromFlags(opts),
        dryRun: opts.mode === 'dry-run',
        force: opts.force === true,
        onlyStage: opts.onlyStage,
        failFast: opts.failFast === true,
      };
      const result = await withApp(command, (app) => runFinraBatch(app, request), { logLevel: 'warn' });
      // The scheduler ops guide prints the clamp warning on stderr, so --json stdout stays one document.
      for (const w of result.warnings) if (w.startsWith('WARNING: Lookback ')) process.stderr.write(`${w}\n`);
      if (opts.json) printJson(result);
      else printRunResult(result);
      // A dry run whose inputs are missing would fail for real: say so with the exit code.
      process.exitCode = result.status === 'dry_run' && result.warnings.some((w) => w.startsWith(DRY_RUN_MISSING)) ? 1 : exitCodeFor(result.status);
    });
}
