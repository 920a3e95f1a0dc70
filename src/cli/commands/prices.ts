import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SluiceError, ValidationError } from '../../core/errors.js';
import { buildRunResult, exitCodeFor, type RunResult } from '../../core/run-result.js';
import type { SluiceApp } from '../../app/create-app.js';
import {
  OUTPUT_SIZES,
  PIPELINES,
  PRICES_CALENDAR,
  PRICES_DOMAIN,
  SOURCE_KINDS,
  SYMBOL_RE,
  describeMissingSource,
  describeSource,
  previousSession,
  resolvePriceSource,
  runWithPricesOptions,
  sessionProblem,
  sessionsBetween,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type OutputSize,
  type PriceSourceKind,
  type PriceSourceParams,
} from '../../domains/prices/index.js';
import { runInline } from '../../engine/run-inline.js';
import { getCalendar } from '../../time/calendars.js';
import { isValidDate } from '../../time/civil-date.js';
import { zonedDate } from '../../time/zoned.js';
import { checkSourceFlags, parseHttpUrl, parseIntOption, printJson, withApp } from '../context.js';
import { printRunResult } from './run.js';

export interface PricesBatchRequest {
  /** Tickers from --symbols (any case). */
  symbols?: string[];
  /** --symbols-file: one ticker per line (or comma-separated), `#` comments. */
  symbolsFile?: string;
  /** Only the first N symbols (after de-duplication). */
  maxSymbols?: number;
  /** --date: one session. */
  date?: string;
  /** --from/--to: every session in between, both inclusive. */
  from?: string;
  to?: string;
  /** From --source/--data-dir/--base-url/--outputsize/--rate-limit; `data_dir` already absolute. */
  source?: PriceSourceParams;
  /** Pause between vendor calls (one call per symbol), on top of the rate limiter. */
  sleepMs?: number;
  dryRun?: boolean;
  force?: boolean;
  failFast?: boolean;
  /** "Now" for the default date (tests). */
  now?: Date;
}

/**
 * `sluice prices`: fetch and land daily bars for symbols × sessions inline (through
 * `runInline`, so the queue keeps the same history a worker pool would leave), and print the
 * run result. Each symbol's series is fetched once for the whole date range. Partitions
 * already COMPLETE are re-run; the handler skips bars that did not change (`--force` lands
 * them again).
 */
export async function runPricesBatch(app: SluiceApp, request: PricesBatchRequest): Promise<RunResult> {
  const startedAt = new Date();
  const warnings: string[] = [];
  const symbols = planSymbols(request, warnings);
  const dates = planDates(request);
  const sleepMs = request.sleepMs ?? 0;
  if (!Number.isInteger(sleepMs) || sleepMs < 0) throw new ValidationError('--sleep', request.sleepMs, 'be a whole number of milliseconds, 0 or more');
  const dryRun = request.dryRun === true;
  // The flags' source is recorded on the items, so it must pass the same access checks as params.
  checkSourceFlags(app, PIPELINES.dailyOhlcv, request.source);
  const source = resolvePriceSource([
    { params: request.source, baseDir: process.cwd() },
    { params: sourceParamsFromEnv(process.env), baseDir: process.cwd() },
    { params: sourceParamsFromConfig(app.config), baseDir: app.loaded.baseDir },
  ]);
  if (!dryRun && !source) throw new SluiceError(`sluice prices: ${describeMissingSource(request.source?.source)}`, 'invalid_input');

  const partitions = symbols.flatMap((symbol) => dates.map((date) => ({ date, symbol })));
  const result = await runWithPricesOptions(
    {
      source: request.source,
      force: request.force === true,
      window: { from: previousSession(dates[0]!), to: dates.at(-1)! },
      sleepMs,
      cache: new Map(),
      fetches: { count: 0 },
    },
    () =>
      runInline(app, {
        pipeline: PIPELINES.dailyOhlcv,
        partitions,
        // Recorded on new items, so a worker retrying them later reads the same source.
        params: request.source,
        force: true,
        dryRun,
        failFast: request.failFast,
      }),
  );
  return buildRunResult({
    scheduler: 'daily_prices',
    domain: PRICES_DOMAIN,
    startedAt,
    dryRun,
    runs: result.runs,
    anomalies: result.anomalies,
    warnings: [...warnings, ...result.warnings],
    config: {
      symbols,
      dates,
      calendar: PRICES_CALENDAR,
      source: source ? describeSource(source) : null,
      sleep_ms: sleepMs,
      max_symbols: request.maxSymbols ?? null,
      mode: dryRun ? 'dry-run' : 'run',
      force: request.force === true,
      fail_fast: request.failFast === true,
      database: app.store.backend,
    },
  });
}

function splitList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function readSymbolsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new ValidationError('--symbols-file', file, `be a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return text.split(/\r?\n/).flatMap((line) => splitList(line.replace(/#.*$/, '')));
}

function planSymbols(request: PricesBatchRequest, warnings: string[]): string[] {
  const raw = [...(request.symbols ?? []), ...(request.symbolsFile ? readSymbolsFile(request.symbolsFile) : [])];
  const symbols = [...new Set(raw.map((s) => s.toUpperCase()))];
  for (const s of symbols) {
    if (!SYMBOL_RE.test(s)) throw new ValidationError(request.symbols?.some((x) => x.toUpperCase() === s) ? '--symbols' : '--symbols-file', s, 'be tickers such as AAPL or BRK.B');
  }
  if (symbols.length === 0) throw new ValidationError('--symbols', request.symbols?.join(',') ?? '', 'list at least one ticker (or give --symbols-file FILE)');
  const max = request.maxSymbols;
  if (max !== undefined) {
    if (!Number.isInteger(max) || max < 1) throw new ValidationError('--max-symbols', max, 'be a positive integer');
    if (symbols.length > max) {
      warnings.push(`--max-symbols: ${symbols.length} symbols given; running the first ${max} (${symbols.slice(max).join(', ')} not run)`);
      return symbols.slice(0, max);
    }
  }
  return symbols;
}

function checkDate(flag: string, value: string): void {
  if (!isValidDate(value)) throw new ValidationError(flag, value, 'be a date YYYY-MM-DD');
}

/** --date (one session), --from/--to (the sessions between), or the latest session that has closed. */
function planDates(request: PricesBatchRequest): string[] {
  const { date, from, to } = request;
  if (date !== undefined) {
    if (from !== undefined || to !== undefined) throw new ValidationError('--date', date, 'not be combined with --from/--to (give one of them)');
    checkDate('--date', date);
    const problem = sessionProblem(date);
    if (problem) throw new ValidationError('--date', date, problem.replace(/^must /, ''));
    return [date];
  }
  if (from !== undefined || to !== undefined) {
    if (from === undefined || to === undefined) throw new ValidationError(from === undefined ? '--from' : '--to', undefined, 'be given with the other one (--from DATE --to DATE)');
    checkDate('--from', from);
    checkDate('--to', to);
    if (from > to) throw new ValidationError('--to', to, `not be before --from ${from}`);
    const dates = sessionsBetween(from, to);
    if (dates.length === 0) throw new ValidationError('--from', `${from}..${to}`, `include at least one ${PRICES_CALENDAR} session`);
    return dates;
  }
  const cal = getCalendar(PRICES_CALENDAR);
  const now = request.now ?? new Date();
  const today = zonedDate(now, cal.timezone);
  return [cal.isSession(today) && now.getTime() >= cal.sessionClose(today).getTime() ? today : cal.previousSession(today)];
}

function sourceFromFlags(opts: { source?: PriceSourceKind; dataDir?: string; baseUrl?: string; outputsize?: OutputSize; rateLimit?: number }): PriceSourceParams | undefined {
  if (!opts.source && !opts.dataDir && !opts.baseUrl && !opts.outputsize && opts.rateLimit === undefined) return undefined;
  if (opts.dataDir && opts.source && opts.source !== 'file') throw new ValidationError('--data-dir', opts.dataDir, 'go with --source file (vendors take --base-url)');
  if (opts.baseUrl && (opts.source === 'file' || (!opts.source && opts.dataDir))) throw new ValidationError('--base-url', opts.baseUrl, 'go with --source alphavantage or polygon (files take --data-dir)');
  if (opts.baseUrl && !opts.source) throw new ValidationError('--source', undefined, 'be given with --base-url: alphavantage or polygon');
  const out: PriceSourceParams = {};
  const kind = opts.source ?? (opts.dataDir ? 'file' : undefined);
  if (kind) out.source = kind;
  if (opts.dataDir) out.data_dir = path.resolve(opts.dataDir);
  if (opts.baseUrl) out.base_url = parseHttpUrl(opts.baseUrl, '--base-url');
  if (opts.outputsize) out.outputsize = opts.outputsize;
  if (opts.rateLimit !== undefined) {
    if (!Number.isFinite(opts.rateLimit) || opts.rateLimit <= 0) throw new ValidationError('--rate-limit', opts.rateLimit, 'be a positive number of calls per minute');
    out.rate_limit_per_minute = opts.rateLimit;
  }
  return out;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ValidationError('--rate-limit', value, 'be a positive number of calls per minute');
  return n;
}

export function registerPrices(program: Command): void {
  program
    .command('prices')
    .description('Fetch and land daily OHLCV bars for symbols × XNYS sessions now, in this process; prints a run result (exit 0 success/dry-run, 1 failure, 2 partial)')
    .option('--symbols <list>', 'tickers, comma-separated, e.g. AAPL,MSFT', splitList)
    .option('--symbols-file <file>', 'a file of tickers, one per line (or comma-separated); # starts a comment')
    .option('--max-symbols <n>', 'run only the first N symbols (a warning names the rest)', parseIntOption('--max-symbols'))
    .option('--date <date>', 'one XNYS session (YYYY-MM-DD); default: the latest session that has closed')
    .option('--from <date>', 'first date of a range (with --to); every XNYS session in it')
    .option('--to <date>', 'last date of the range, inclusive')
    .addOption(new Option('--source <kind>', 'file (CSV per symbol), alphavantage or polygon (default: inferred from --data-dir, else the environment or config)').choices([...SOURCE_KINDS]))
    .option('--data-dir <dir>', 'directory of AAPL.csv-style files (header date,open,high,low,close,volume)')
    .option('--base-url <url>', 'vendor API root (default https://www.alphavantage.co or https://api.polygon.io)')
    .addOption(new Option('--outputsize <size>', 'Alpha Vantage: compact (last 100 sessions) or full').choices([...OUTPUT_SIZES]))
    .option('--rate-limit <n>', 'vendor calls per minute (default 5, the free tiers)', parseRate)
    .option('--sleep <ms>', 'pause between vendor calls (one per symbol), on top of the rate limit', parseIntOption('--sleep'))
    .addOption(new Option('--mode <mode>', 'run, or dry-run to only show what would run').choices(['run', 'dry-run']).default('run'))
    .option('--force', 'land bars again even when unchanged')
    .option('--fail-fast', 'stop at the first failed partition')
    .option('--json', 'print the run result JSON')
    .action(async (opts, command: Command) => {
      const request: PricesBatchRequest = {
        symbols: opts.symbols,
        symbolsFile: opts.symbolsFile,
        maxSymbols: opts.maxSymbols,
        date: opts.date,
        from: opts.from,
        to: opts.to,
        source: sourceFromFlags(opts),
        sleepMs: opts.sleep,
        dryRun: opts.mode === 'dry-run',
        force: opts.force === true,
        failFast: opts.failFast === true,
      };
      const result = await withApp(command, (app) => runPricesBatch(app, request), { logLevel: 'warn' });
      if (opts.json) printJson(result);
      else printRunResult(result);
      process.exitCode = exitCodeFor(result.status);
    });
}
