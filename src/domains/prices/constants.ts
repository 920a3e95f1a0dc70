/** Daily OHLCV bars per (session date, symbol), from a CSV directory, Alpha Vantage or Polygon. */
export const PRICES_DOMAIN = 'prices';

export const PIPELINES = {
  dailyOhlcv: `${PRICES_DOMAIN}.daily_ohlcv`,
} as const;

/** Every partition date is a session of this calendar. */
export const PRICES_CALENDAR = 'XNYS';
/** Polygon stamps a daily bar with the start of its day in this zone (midnight, New York). */
export const MARKET_TIMEZONE = 'America/New_York';

/**
 * Symbols: upper-case letters and digits, optionally with a class suffix (`BRK.B`, `BF-B`).
 * No `/`: a symbol names a file in the CSV directory.
 */
export const SYMBOL_RE = /^[A-Z0-9]{1,10}([.-][A-Z0-9]{1,4})?$/;

/** `mock`: deterministic bars computed from (symbol, date), no files or network (demos, CI). */
export const SOURCE_KINDS = ['file', 'alphavantage', 'polygon', 'mock'] as const;
export type PriceSourceKind = (typeof SOURCE_KINDS)[number];

/** Every accepted spelling: Sluice's kinds and the scheduler ops guide's `alpha_vantage`. */
export const SOURCE_NAMES = [...SOURCE_KINDS, 'alpha_vantage'] as const;
export type PriceSourceName = (typeof SOURCE_NAMES)[number];

export function canonicalSourceKind(name: PriceSourceName): PriceSourceKind {
  return name === 'alpha_vantage' ? 'alphavantage' : name;
}

/** The guide's variable for the default `--source` (Sluice's SLUICE_PRICES_SOURCE wins when both are set). */
export const GUIDE_SOURCE_ENV = 'PRICE_SOURCE';

export const OUTPUT_SIZES = ['compact', 'full'] as const;
export type OutputSize = (typeof OUTPUT_SIZES)[number];

/** API keys come from these environment variables only (never params, config or flags). */
export const API_KEY_ENV = { alphavantage: 'ALPHAVANTAGE_API_KEY', polygon: 'POLYGON_API_KEY' } as const;

export const DEFAULT_BASE_URL = { alphavantage: 'https://www.alphavantage.co', polygon: 'https://api.polygon.io' } as const;

/**
 * Calls per minute each vendor's free tier allows (Alpha Vantage: 5/min; Polygon basic:
 * 5/min). Override with params `rate_limit_per_minute` / `--rate-limit` / SLUICE_PRICES_RATE_LIMIT.
 */
export const DEFAULT_RATE_PER_MINUTE = { alphavantage: 5, polygon: 5 } as const;

/** Environment variables a worker can be pointed at a source with. */
export const SOURCE_ENV = {
  source: 'SLUICE_PRICES_SOURCE',
  dataDir: 'SLUICE_PRICES_DATA_DIR',
  baseUrl: 'SLUICE_PRICES_BASE_URL',
  outputsize: 'SLUICE_PRICES_OUTPUTSIZE',
  rateLimit: 'SLUICE_PRICES_RATE_LIMIT',
} as const;

/** The CSV header (extra columns after these, such as adj_close, are ignored). */
export const CSV_COLUMNS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;

/** Bumped when the row a partition lands from the same source data changes shape or maths. */
export const PRICES_ROW_VERSION = 'prices.daily_ohlcv/1';
