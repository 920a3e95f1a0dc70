import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { BUCKET_NAMES, planFredBatch, type FredBatchRequest, type FredSourceParams } from '../../domains/fred/index.js';
import { runBatchCommand, splitList } from '../batch.js';
import { parseHttpUrl, parseIntOption } from '../context.js';

/** `--source api` (the guide's name) and `http` are the FRED API. */
function sourceFromFlags(opts: { source?: 'file' | 'api' | 'http'; dataDir?: string; baseUrl?: string }): FredSourceParams | undefined {
  if (!opts.source && !opts.dataDir && !opts.baseUrl) return undefined;
  const kind = opts.source === 'api' ? 'http' : (opts.source ?? (opts.dataDir ? 'file' : 'http'));
  if (kind === 'file' && opts.baseUrl) throw new ValidationError('--base-url', opts.baseUrl, 'go with --source api (files take --data-dir)');
  if (kind === 'http' && opts.dataDir) throw new ValidationError('--data-dir', opts.dataDir, 'go with --source file (the api takes --base-url)');
  const out: FredSourceParams = { source: kind };
  if (opts.dataDir) out.data_dir = path.resolve(opts.dataDir);
  if (opts.baseUrl) out.base_url = parseHttpUrl(opts.baseUrl, '--base-url');
  return out;
}

/** `sluice fred`: FRED series buckets for XNYS sessions, inline, with the batch CLIs' flags and result. */
export function registerFred(program: Command): void {
  program
    .command('fred')
    .description('Fetch and land FRED series buckets (fx, rates_curve, financial_conditions) for XNYS sessions now, in this process; prints a run result (exit 0 success/dry-run, 1 failure, 2 partial)')
    .option('--date <date>', 'one XNYS session (YYYY-MM-DD); default: the latest session that has closed')
    .option('--from <date>', 'first date of a range (with --to); every XNYS session in it')
    .option('--to <date>', 'last date of the range, inclusive')
    .option('--buckets <list>', `comma-separated buckets (default all: ${BUCKET_NAMES.join(',')})`, splitList)
    .addOption(new Option('--source <kind>', 'file (DGS10.json-style files) or api (the FRED API, key from FRED_API_KEY; also spelled http)').choices(['file', 'api', 'http']))
    .option('--data-dir <dir>', 'directory of <SERIES>.json observation files')
    .option('--base-url <url>', 'FRED API root (default https://api.stlouisfed.org)')
    .option('--lookback-days <n>', 'days before each date whose months are re-read (default 14)', parseIntOption('--lookback-days'))
    .addOption(new Option('--mode <mode>', 'run, or dry-run to only show what would run').choices(['run', 'dry-run']).default('run'))
    .option('--force', 'land observations again even when unchanged')
    .option('--fail-fast', 'stop at the first failed partition')
    .option('--json', 'print the run result JSON')
    .action(async (opts, command: Command) => {
      const request: FredBatchRequest = {
        date: opts.date,
        from: opts.from,
        to: opts.to,
        buckets: opts.buckets,
        source: sourceFromFlags(opts),
        lookbackDays: opts.lookbackDays,
        dryRun: opts.mode === 'dry-run',
        force: opts.force === true,
        failFast: opts.failFast === true,
      };
      await runBatchCommand(command, opts.json === true, (host) => planFredBatch(host, request));
    });
}
