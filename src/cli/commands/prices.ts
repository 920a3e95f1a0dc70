import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ValidationError } from '../../core/errors.js';
import {
  DEFAULT_MAX_SYMBOLS,
  DEFAULT_SLEEP_SECONDS,
  OUTPUT_SIZES,
  SOURCE_NAMES,
  canonicalSourceKind,
  planPricesBatch,
  type OutputSize,
  type PriceSourceName,
  type PriceSourceParams,
  type PricesBatchRequest,
} from '../../domains/prices/index.js';
import { addBatchCommand, addRunModeOptions, addSessionDateOptions, runModeOf, sessionDatesOf } from '../options.js';
import { runBatchCommand } from '../batch.js';
import { parseHttpUrl, parseIntOption } from '../context.js';

function splitSymbols(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function sourceFromFlags(opts: {
  source?: PriceSourceName;
  dataDir?: string;
  baseUrl?: string;
  outputsize?: OutputSize;
  rateLimit?: number;
}): PriceSourceParams | undefined {
  if (!opts.source && !opts.dataDir && !opts.baseUrl && !opts.outputsize && opts.rateLimit === undefined) return undefined;
  const kind = opts.source && canonicalSourceKind(opts.source);
  if (opts.dataDir && kind && kind !== 'file') throw new ValidationError('--data-dir', opts.dataDir, 'go with --source file (vendors take --base-url)');
  if (opts.baseUrl && (kind === 'file' || kind === 'mock' || (!kind && opts.dataDir)))
    throw new ValidationError('--base-url', opts.baseUrl, 'go with --source alpha_vantage or polygon (files take --data-dir)');
  if (opts.baseUrl && !kind) throw new ValidationError('--source', undefined, 'be given with --base-url: alpha_vantage or polygon');
  const out: PriceSourceParams = {};
  const resolved = kind ?? (opts.dataDir ? 'file' : undefined);
  if (resolved) out.source = resolved;
  if (opts.dataDir) out.data_dir = path.resolve(opts.dataDir);
  if (opts.baseUrl) out.base_url = parseHttpUrl(opts.baseUrl, '--base-url');
  if (opts.outputsize) out.outputsize = opts.outputsize;
  if (opts.rateLimit !== undefined) out.rate_limit_per_minute = opts.rateLimit;
  return out;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ValidationError('--rate-limit', value, 'be a positive number of calls per minute');
  return n;
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new ValidationError('--sleep', value, 'be a number of seconds, 0 or more (e.g. 12.0)');
  return n;
}

/** `sluice prices`: the scheduler ops guide's schedule_prices.py, flag for flag (planned by the domain, run by the engine). */
export function registerPrices(program: Command): void {
  const cmd = addBatchCommand(program, 'prices', 'Fetch and land daily OHLCV bars for symbols × XNYS sessions')
    .option('--symbols <list>', 'tickers, comma-separated, e.g. AAPL,MSFT (required unless --symbols-file)', splitSymbols)
    .option('--symbols-file <file>', 'a file of tickers, one per line (or comma-separated); # starts a comment')
    .option('--max-symbols <n>', `symbols per batch (default ${DEFAULT_MAX_SYMBOLS}); every symbol runs, a batch at a time`, parseIntOption('--max-symbols'));
  addSessionDateOptions(cmd)
    .addOption(
      new Option(
        '--source <kind>',
        'alpha_vantage, polygon, mock (deterministic built-in bars) or file (CSV per symbol); default: PRICE_SOURCE, else inferred from --data-dir, the environment or config',
      ).choices([...SOURCE_NAMES]),
    )
    .option('--data-dir <dir>', 'directory of AAPL.csv-style files (header date,open,high,low,close,volume)')
    .option('--base-url <url>', 'vendor API root (default https://www.alphavantage.co or https://api.polygon.io)')
    .addOption(new Option('--outputsize <size>', 'Alpha Vantage: compact (~100 days) or full (20 years)').choices([...OUTPUT_SIZES]))
    .option('--rate-limit <n>', 'vendor calls per minute (default 5, the free tiers)', parseRate)
    .option(
      '--sleep <seconds>',
      `seconds between vendor API calls, on top of the rate limit (default ${DEFAULT_SLEEP_SECONDS.toFixed(1)}; files and mock make no calls)`,
      parseSeconds,
    );
  addRunModeOptions(cmd, { force: 'land bars again even when unchanged' });
  cmd.action(async (opts, command: Command) => {
    const request: PricesBatchRequest = {
      symbols: opts.symbols,
      symbolsFile: opts.symbolsFile,
      maxSymbols: opts.maxSymbols,
      ...sessionDatesOf(opts),
      source: sourceFromFlags(opts),
      sleepMs: Math.round((opts.sleep ?? DEFAULT_SLEEP_SECONDS) * 1000),
      ...runModeOf(opts),
    };
    await runBatchCommand(command, opts.json === true, (host) => planPricesBatch(host, request));
  });
}
