import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ValidationError } from '../../core/errors.js';
import {
  DEFAULT_LOOKBACK_WEEKS,
  DRY_RUN_MISSING,
  TIERS,
  planFinraBatch,
  type FinraBatchRequest,
  type FinraSourceParams,
  type Tier,
} from '../../domains/finra/index.js';
import { exitCodeFor } from '../../core/run-result.js';
import { addBatchCommand, addRunModeOptions, runModeOf } from '../options.js';
import { runBatchCommand, splitList } from '../batch.js';
import { parseHttpUrl, parseIntOption } from '../context.js';

function parseTiers(value: string): Tier[] {
  const tiers = splitList(value);
  if (tiers.length === 0) throw new ValidationError('--tiers', value, `list at least one of ${TIERS.join(', ')}`);
  for (const t of tiers)
    if (!(TIERS as readonly string[]).includes(t)) throw new ValidationError('--tiers', t, `be one of ${TIERS.join(', ')} (comma-separated)`);
  return tiers as Tier[];
}

/** `--source api` is the guide's name for the HTTP source. */
function sourceFromFlags(opts: { source?: 'file' | 'api' | 'http'; dataDir?: string; baseUrl?: string }): FinraSourceParams | undefined {
  if (!opts.source && !opts.dataDir && !opts.baseUrl) return undefined;
  const kind = opts.source === 'api' ? 'http' : opts.source;
  if (kind === 'file' && opts.baseUrl && !opts.dataDir)
    throw new ValidationError('--base-url', opts.baseUrl, 'go with --source api (or use --data-dir with --source file)');
  if (kind === 'http' && opts.dataDir && !opts.baseUrl)
    throw new ValidationError('--data-dir', opts.dataDir, 'go with --source file (or use --base-url with --source api)');
  const out: FinraSourceParams = { source: kind ?? (opts.dataDir ? 'file' : 'http') };
  if (opts.dataDir) out.data_dir = path.resolve(opts.dataDir);
  if (opts.baseUrl) out.base_url = parseHttpUrl(opts.baseUrl, '--base-url');
  return out;
}

/** `sluice finra`: the scheduler ops guide's schedule_finra.py, flag for flag (planned by the domain, run by the engine). */
export function registerFinra(program: Command): void {
  const cmd = addBatchCommand(program, 'finra', 'Ingest, normalize and compute FINRA OTC transparency weeks')
    .option(
      '--lookback-weeks <n>',
      `the last N published weeks (default ${DEFAULT_LOOKBACK_WEEKS}; over scheduler.max_lookback_weeks is clamped unless --force)`,
      parseIntOption('--lookback-weeks'),
    )
    .option('--as-of <date>', 'count --lookback-weeks back from this date (YYYY-MM-DD) instead of today')
    .option(
      '--weeks <dates>',
      'weeks, comma-separated, each by any date in it, e.g. 2025-12-15,2025-12-22 (named by their Friday; instead of --lookback-weeks)',
      splitList,
    )
    .option('--tiers <tiers>', `comma-separated tiers (default all: ${TIERS.join(',')})`, parseTiers)
    .addOption(
      new Option(
        '--source <kind>',
        'file, or api (HTTP; also spelled http); default: inferred from --data-dir/--base-url, else the environment or config',
      ).choices(['file', 'api', 'http']),
    )
    .option('--data-dir <dir>', 'directory of tier1_YYYYMMDD.csv / tier2_… / otc_… files (optionally prefixed finra_otc_weekly_)')
    .option('--base-url <url>', 'URL the same file names are under (the api source)')
    .addOption(new Option('--only-stage <stage>', 'run one stage only').choices(['ingest', 'normalize', 'calc', 'all']).default('all'));
  addRunModeOptions(cmd, { force: 'land even unchanged files again; allow a lookback over the maximum' });
  cmd.action(async (opts, command: Command) => {
    const request: FinraBatchRequest = {
      weeks: opts.weeks,
      lookbackWeeks: opts.lookbackWeeks,
      asOf: opts.asOf,
      tiers: opts.tiers,
      source: sourceFromFlags(opts),
      onlyStage: opts.onlyStage,
      ...runModeOf(opts),
    };
    // A dry run whose inputs are missing would fail for real: say so with the exit code.
    await runBatchCommand(
      command,
      opts.json === true,
      (host) => planFinraBatch(host, request),
      (r) => (r.status === 'dry_run' && r.warnings.some((w) => w.startsWith(DRY_RUN_MISSING)) ? 1 : exitCodeFor(r.status)),
    );
  });
}
