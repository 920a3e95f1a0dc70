import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BatchPlan } from '../../core/batch-plan.js';
import { SluiceError, ValidationError } from '../../core/errors.js';
import { getCalendar } from '../../time/calendars.js';
import { isValidDate } from '../../time/civil-date.js';
import { zonedDate } from '../../time/zoned.js';
import type { BatchHost } from '../batch-host.js';
import { PIPELINES, PRICES_CALENDAR, PRICES_DOMAIN, SYMBOL_RE } from './constants.js';
import { previousSession, sessionProblem, sessionsBetween } from './partitions.js';
import type { PricesBatchState } from './handlers.js';
import {
  describeMissingSource,
  describeSource,
  resolvePriceSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type PriceSource,
  type PriceSourceParams,
} from './source.js';
import { batchSourceLayers } from '../source-layers.js';

/** The guide's defaults: 25 symbols per batch, 12 s between vendor calls (Alpha Vantage's free 5 a minute). */
export const DEFAULT_MAX_SYMBOLS = 25;
export const DEFAULT_SLEEP_SECONDS = 12;

export interface PricesBatchRequest {
  /** Tickers from --symbols (any case). */
  symbols?: string[];
  /** --symbols-file: one ticker per line (or comma-separated), `#` comments. */
  symbolsFile?: string;
  /** Symbols per batch (default 25): each batch fetches its symbols, then the next batch starts. */
  maxSymbols?: number;
  /** --date: one session. */
  date?: string;
  /** --from/--to: every session in between, both inclusive. */
  from?: string;
  to?: string;
  /** From --source/--data-dir/--base-url/--outputsize/--rate-limit; `data_dir` already absolute. */
  source?: PriceSourceParams;
  /** Pause between vendor calls (one call per symbol and batch), on top of the rate limiter; default 0 here, the CLI's default is 12 s. */
  sleepMs?: number;
  dryRun?: boolean;
  force?: boolean;
  failFast?: boolean;
  /** "Now" for the default date (tests). */
  now?: Date;
}

/**
 * `sluice prices` as a batch plan: symbols × sessions, in batches of `maxSymbols` symbols.
 * Within a batch each symbol's series is fetched once for the whole date range (see
 * PricesBatchState); the source is resolved here, once. Partitions already COMPLETE are
 * re-run; the handler skips bars that did not change (`--force` lands them again).
 */
export function planPricesBatch(host: BatchHost, request: PricesBatchRequest): BatchPlan {
  const symbols = planSymbols(request);
  const dates = planSessionDates(request);
  const maxSymbols = request.maxSymbols ?? DEFAULT_MAX_SYMBOLS;
  if (!Number.isInteger(maxSymbols) || maxSymbols < 1) throw new ValidationError('--max-symbols', request.maxSymbols, 'be a positive integer');
  const sleepMs = request.sleepMs ?? 0;
  if (!Number.isFinite(sleepMs) || sleepMs < 0) throw new ValidationError('--sleep', request.sleepMs, 'be a number of seconds, 0 or more');
  const dryRun = request.dryRun === true;
  const source = resolvePriceSource(batchSourceLayers(host, request.source, sourceParamsFromEnv, sourceParamsFromConfig));
  if (!dryRun && !source) throw new SluiceError(`sluice prices: ${describeMissingSource(request.source?.source)}`, 'invalid_input');

  const window = { from: previousSession(dates[0]!), to: dates.at(-1)! };
  const fetches = { count: 0 };
  const batches: string[][] = [];
  for (let i = 0; i < symbols.length; i += maxSymbols) batches.push(symbols.slice(i, i + maxSymbols));
  const steps = batches.map((batch) => {
    const shared: PricesBatchState = { window, sleepMs, cache: new Map(), fetches };
    return {
      pipeline: PIPELINES.dailyOhlcv,
      partitions: batch.flatMap((symbol) => dates.map((date) => ({ date, symbol }))),
      params: request.source,
      run: { force: request.force === true, source: source ? asParams(source) : undefined, shared },
    };
  });
  return {
    domain: PRICES_DOMAIN,
    scheduler: 'daily_prices',
    steps,
    follow: [],
    dryRun,
    failFast: request.failFast === true,
    warnings: batches.length > 1 ? [`${symbols.length} symbols in ${batches.length} batches of at most ${maxSymbols} (--max-symbols)`] : [],
    paramFlags: { data_dir: '--data-dir', base_url: '--base-url', outputsize: '--outputsize', rate_limit_per_minute: '--rate-limit' },
    config: {
      symbols,
      dates,
      calendar: PRICES_CALENDAR,
      source: source ? describeSource(source) : null,
      sleep: sleepMs / 1000,
      sleep_ms: sleepMs,
      max_symbols: maxSymbols,
      batches: batches.length,
      mode: dryRun ? 'dry-run' : 'run',
      force: request.force === true,
      fail_fast: request.failFast === true,
      database: host.backend,
    },
  };
}

function asParams(source: PriceSource): PriceSourceParams {
  switch (source.kind) {
    case 'file':
      return { source: 'file', data_dir: source.dataDir };
    case 'mock':
      return { source: 'mock' };
    case 'alphavantage':
      return {
        source: 'alphavantage',
        base_url: source.baseUrl,
        outputsize: source.outputsize,
        rate_limit_per_minute: source.rate.perMinute,
        rate_limit_burst: source.rate.burst,
      };
    case 'polygon':
      return { source: 'polygon', base_url: source.baseUrl, rate_limit_per_minute: source.rate.perMinute, rate_limit_burst: source.rate.burst };
  }
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

function planSymbols(request: PricesBatchRequest): string[] {
  const raw = [...(request.symbols ?? []), ...(request.symbolsFile ? readSymbolsFile(request.symbolsFile) : [])];
  const symbols = [...new Set(raw.map((s) => s.toUpperCase()))];
  for (const s of symbols) {
    if (!SYMBOL_RE.test(s))
      throw new ValidationError(request.symbols?.some((x) => x.toUpperCase() === s) ? '--symbols' : '--symbols-file', s, 'be tickers such as AAPL or BRK.B');
  }
  if (symbols.length === 0) throw new ValidationError('--symbols', request.symbols?.join(',') ?? '', 'list at least one ticker (or give --symbols-file FILE)');
  return symbols;
}

function checkDate(flag: string, value: string): void {
  if (!isValidDate(value)) throw new ValidationError(flag, value, 'be a date YYYY-MM-DD');
}

/**
 * --date (one session), --from/--to (the sessions between), or the latest session that has
 * closed. Shared by the batches whose partitions are XNYS sessions (prices, FRED, the matrix).
 */
export function planSessionDates(request: { date?: string; from?: string; to?: string; now?: Date }): string[] {
  const { date, from, to } = request;
  if (date !== undefined) {
    if (from !== undefined || to !== undefined) throw new ValidationError('--date', date, 'not be combined with --from/--to (give one of them)');
    checkDate('--date', date);
    const problem = sessionProblem(date);
    if (problem) throw new ValidationError('--date', date, problem.replace(/^must /, ''));
    return [date];
  }
  if (from !== undefined || to !== undefined) {
    if (from === undefined || to === undefined)
      throw new ValidationError(from === undefined ? '--from' : '--to', undefined, 'be given with the other one (--from DATE --to DATE)');
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
