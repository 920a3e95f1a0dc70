import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { BUCKET_NAMES, planFredBatch, type FredBatchRequest, type FredSourceParams } from '../../domains/fred/index.js';
import { addBatchCommand, addRunModeOptions, addSessionDateOptions, runModeOf, sessionDatesOf } from '../options.js';
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
  const cmd = addBatchCommand(program, 'fred', 'Fetch and land FRED series buckets (fx, rates_curve, financial_conditions) for XNYS sessions');
  addSessionDateOptions(cmd)
    .option('--buckets <list>', `comma-separated buckets (default all: ${BUCKET_NAMES.join(',')})`, splitList)
    .addOption(
      new Option('--source <kind>', 'file (DGS10.json-style files) or api (the FRED API, key from FRED_API_KEY; also spelled http)').choices([
        'file',
        'api',
        'http',
      ]),
    )
    .option('--data-dir <dir>', 'directory of <SERIES>.json observation files')
    .option('--base-url <url>', 'FRED API root (default https://api.stlouisfed.org)')
    .option('--lookback-days <n>', 'days before each date whose months are re-read (default 14)', parseIntOption('--lookback-days'));
  addRunModeOptions(cmd, { force: 'land observations again even when unchanged' });
  cmd.action(async (opts, command: Command) => {
    const request: FredBatchRequest = {
      ...sessionDatesOf(opts),
      buckets: opts.buckets,
      source: sourceFromFlags(opts),
      lookbackDays: opts.lookbackDays,
      ...runModeOf(opts),
    };
    await runBatchCommand(command, opts.json === true, (host) => planFredBatch(host, request));
  });
}
