import { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import type { SluiceConfig } from '../../config/schema.js';
import { allowedUrl, confinedPath, type AccessPolicy } from '../../connectors/access.js';
import {
  API_KEY_ENV,
  DEFAULT_BASE_URL,
  DEFAULT_RATE_PER_MINUTE,
  OUTPUT_SIZES,
  PIPELINES,
  GUIDE_SOURCE_ENV,
  SOURCE_ENV,
  SOURCE_NAMES,
  canonicalSourceKind,
  type OutputSize,
  type PriceSourceKind,
  type PriceSourceName,
} from './constants.js';
import { ValidationError } from '../../core/errors.js';
import type { Bar } from './parse.js';
import { mergeSourceLayers, type SourceLayerOf } from '../source-layers.js';

/** Where prices come from, as params, config and flags spell it. API keys are never here. */
export const sourceParamsSchema = z.strictObject({
  source: z.enum(SOURCE_NAMES).optional(),
  /** Directory of `AAPL.csv`-style files (relative: to the config file's directory). */
  data_dir: z.string().min(1).optional(),
  /** Vendor API root (default: the vendor's public URL). */
  base_url: z.string().url().optional(),
  /** Alpha Vantage: `compact` (last 100 sessions, default) or `full` (20+ years). */
  outputsize: z.enum(OUTPUT_SIZES).optional(),
  /** Calls per minute to the vendor (default: its free tier, 5). */
  rate_limit_per_minute: z.number().positive().optional(),
  /** Calls allowed at once before the rate applies (default: the per-minute figure). */
  rate_limit_burst: z.number().int().min(1).optional(),
});
export type PriceSourceParams = z.infer<typeof sourceParamsSchema>;

/** The same fields as a work item may carry them: `data_dir` inside the data roots, `base_url` on an allowed host. */
export function itemSourceParamsShape(policy: AccessPolicy) {
  return { ...sourceParamsSchema.shape, data_dir: confinedPath(policy).optional(), base_url: allowedUrl(policy).optional() };
}

export interface RateSettings {
  perMinute: number;
  burst: number;
}

export type PriceSource =
  | { kind: 'file'; dataDir: string }
  | { kind: 'alphavantage'; baseUrl: string; outputsize: OutputSize; rate: RateSettings }
  | { kind: 'polygon'; baseUrl: string; rate: RateSettings }
  | { kind: 'mock' };

export type SourceLayer = SourceLayerOf<PriceSourceParams>;

/**
 * The source for one run, from layers in precedence order (first wins per field): the
 * command line, the work item's params, the environment, the config. `source` defaults to
 * `file` when a `data_dir` is known; a vendor without a `base_url` uses its public URL.
 * Null when nothing says where prices come from (or only a base URL, which fits either vendor).
 */
export function resolvePriceSource(layers: readonly SourceLayer[]): PriceSource | null {
  const { source, data_dir: dataDir, base_url: baseUrl, outputsize, rate_limit_per_minute: perMinute, rate_limit_burst: burst } = mergeSourceLayers(layers);
  const kind: PriceSourceKind | undefined = (source && canonicalSourceKind(source)) ?? (dataDir !== undefined ? 'file' : undefined);
  if (kind === 'file') return dataDir !== undefined ? { kind, dataDir } : null;
  if (kind === undefined) return null;
  if (kind === 'mock') return { kind };
  const per = perMinute ?? DEFAULT_RATE_PER_MINUTE[kind];
  const rate = { perMinute: per, burst: burst ?? Math.max(1, Math.floor(per)) };
  const url = baseUrl ?? DEFAULT_BASE_URL[kind];
  if (kind === 'alphavantage') return { kind, baseUrl: url, outputsize: outputsize ?? 'compact', rate };
  return { kind, baseUrl: url, rate };
}

export function describeMissingSource(kind?: PriceSourceName): string {
  const what = kind === 'file' ? 'data directory' : 'source';
  return (
    `no prices ${what} configured: pass --source file --data-dir DIR, --source alpha_vantage|polygon [--base-url URL] or --source mock, to \`sluice prices\`, ` +
    `or set params {"source","data_dir"|"base_url"} on the item (or the prices schedule's params in the config), ` +
    `or ${GUIDE_SOURCE_ENV} / ${SOURCE_ENV.source} / ${SOURCE_ENV.dataDir} / ${SOURCE_ENV.baseUrl}`
  );
}

export function sourceParamsFromEnv(env: Readonly<Record<string, string | undefined>>): PriceSourceParams | undefined {
  const out: PriceSourceParams = {};
  // Sluice's variable wins over the guide's PRICE_SOURCE; a value that is no source is an
  // error naming the variable, not silently another source.
  const name = env[SOURCE_ENV.source] ? SOURCE_ENV.source : env[GUIDE_SOURCE_ENV] ? GUIDE_SOURCE_ENV : undefined;
  const source = name ? env[name]! : undefined;
  if (name && source) {
    if (!(SOURCE_NAMES as readonly string[]).includes(source)) throw new ValidationError(name, source, `be one of ${SOURCE_NAMES.join(', ')}`);
    out.source = source as PriceSourceName;
  }
  if (env[SOURCE_ENV.dataDir]) out.data_dir = env[SOURCE_ENV.dataDir];
  if (env[SOURCE_ENV.baseUrl]) out.base_url = env[SOURCE_ENV.baseUrl];
  const size = env[SOURCE_ENV.outputsize];
  if (size === 'compact' || size === 'full') out.outputsize = size;
  const rate = Number(env[SOURCE_ENV.rateLimit]);
  if (env[SOURCE_ENV.rateLimit] && Number.isFinite(rate) && rate > 0) out.rate_limit_per_minute = rate;
  return Object.keys(out).length ? out : undefined;
}

const SOURCE_KEYS = ['source', 'data_dir', 'base_url', 'outputsize', 'rate_limit_per_minute', 'rate_limit_burst'];

/** The source params of the first schedule in the config that runs prices.daily_ohlcv and names one. */
export function sourceParamsFromConfig(config: SluiceConfig | undefined): PriceSourceParams | undefined {
  for (const s of config?.schedules ?? []) {
    if (s.pipeline !== PIPELINES.dailyOhlcv || !s.params) continue;
    const picked = Object.fromEntries(SOURCE_KEYS.filter((k) => s.params![k] !== undefined).map((k) => [k, s.params![k]]));
    const parsed = sourceParamsSchema.safeParse(picked);
    if (parsed.success && Object.keys(parsed.data).length) return parsed.data;
  }
  return undefined;
}

/** The source as the run result's `config.source` shows it. */
export function describeSource(source: PriceSource): Record<string, unknown> {
  switch (source.kind) {
    case 'file':
      return { kind: 'file', data_dir: source.dataDir };
    case 'alphavantage':
      return { kind: 'alphavantage', base_url: source.baseUrl, outputsize: source.outputsize, rate_limit_per_minute: source.rate.perMinute };
    case 'polygon':
      return { kind: 'polygon', base_url: source.baseUrl, rate_limit_per_minute: source.rate.perMinute };
    case 'mock':
      return { kind: 'mock' };
  }
}

export interface FetchedSeries {
  bars: Bar[];
  /** File path or URL (API key redacted). */
  uri: string;
  /** Whether the fetch went over the network (rate limits, --sleep). */
  remote: boolean;
}

export interface FetchOptions {
  /** Dates the caller needs bars for (Polygon asks for exactly this range). */
  from: string;
  to: string;
  signal?: AbortSignal;
  log?: Logger;
}

async function httpFor(source: Extract<PriceSource, { kind: 'alphavantage' | 'polygon' }>) {
  const { perMinute, burst } = source.rate;
  const { sharedHttpSource } = await import('../../connectors/http-source.js');
  return sharedHttpSource({
    name: `${source.kind} ${new URL(source.baseUrl).host}`,
    baseUrl: source.baseUrl,
    timeoutMs: 30_000,
    retries: 3,
    rateLimit: { capacity: burst, intervalMs: (burst * 60_000) / perMinute },
    breaker: { failureThreshold: 5, resetTimeoutMs: 60_000 },
    apiKeyEnv: API_KEY_ENV[source.kind],
    apiKeyParam: source.kind === 'alphavantage' ? 'apikey' : 'apiKey',
  });
}

/**
 * One symbol's daily bars: `DIR/AAPL.csv` (or `aapl.csv`); Alpha Vantage
 * `query?function=TIME_SERIES_DAILY&symbol=AAPL&outputsize=compact`; Polygon
 * `v2/aggs/ticker/AAPL/range/1/day/FROM/TO?adjusted=true&sort=asc`. The API key goes in the
 * query string from the environment and is redacted from every URL this returns or logs.
 */
export async function fetchSeries(source: PriceSource, symbol: string, opts: FetchOptions): Promise<FetchedSeries> {
  // The parsers (csv-parse), file reader and HTTP client load on the first fetch, not when
  // the pipelines are defined: every command defines them, few fetch (`sluice status`).
  const { parseAlphaVantageDaily, parseDailyCsv, parsePolygonAggs } = await import('./parse.js');
  if (source.kind === 'file') {
    const file = await new (await import('../../connectors/file-source.js')).FileSource(source.dataDir).read(
      [`${symbol}.csv`, `${symbol.toLowerCase()}.csv`],
      opts.signal,
    );
    return { bars: parseDailyCsv(file.bytes, file.uri), uri: file.uri, remote: false };
  }
  if (source.kind === 'mock') return { bars: (await import('./mock.js')).mockSeries(symbol, opts.from, opts.to), uri: `mock:${symbol}`, remote: false };
  const http = await httpFor(source);
  const secrets = [process.env[API_KEY_ENV[source.kind]]];
  if (source.kind === 'alphavantage') {
    const res = await http.get('query', {
      query: { function: 'TIME_SERIES_DAILY', symbol, outputsize: source.outputsize, datatype: 'json' },
      signal: opts.signal,
      log: opts.log,
    });
    return { bars: parseAlphaVantageDaily(res.bytes, res.uri, symbol, secrets), uri: res.uri, remote: true };
  }
  const res = await http.get(`v2/aggs/ticker/${encodeURIComponent(symbol)}/range/1/day/${opts.from}/${opts.to}`, {
    query: { adjusted: 'true', sort: 'asc', limit: '50000' },
    signal: opts.signal,
    log: opts.log,
  });
  return { bars: parsePolygonAggs(res.bytes, res.uri, symbol, secrets), uri: res.uri, remote: true };
}
