/** FRED (Federal Reserve Economic Data) series observations, ingested in buckets. */
export const FRED_DOMAIN = 'fred';

/**
 * The buckets and their series. Each bucket is one partition dimension value of
 * `fred.ingest_bucket` ({date, bucket}) with its own schedule; every series lands in the one
 * `fred.observations` table.
 *
 *   fx                    DEXUSEU (USD per EUR), DEXJPUS (JPY per USD)
 *   rates_curve           DGS3MO, DGS2, DGS10, DGS30 (Treasury constant maturity yields, %)
 *   financial_conditions  NFCI (Chicago Fed, weekly), BAMLH0A0HYM2 (ICE BofA US high-yield OAS, %)
 */
export const BUCKETS = {
  fx: ['DEXUSEU', 'DEXJPUS'],
  rates_curve: ['DGS3MO', 'DGS2', 'DGS10', 'DGS30'],
  financial_conditions: ['NFCI', 'BAMLH0A0HYM2'],
} as const satisfies Record<string, readonly string[]>;

export type Bucket = keyof typeof BUCKETS;
export const BUCKET_NAMES = Object.keys(BUCKETS) as Bucket[];

/** Every series of every bucket, in bucket order. */
export const ALL_SERIES: readonly string[] = BUCKET_NAMES.flatMap((b) => BUCKETS[b]);

export const SERIES_ID_RE = /^[A-Z0-9_]{1,40}$/;

export const PIPELINES = {
  ingestBucket: `${FRED_DOMAIN}.ingest_bucket`,
} as const;

/** The API key comes from this environment variable only. */
export const API_KEY_ENV = 'FRED_API_KEY';
export const DEFAULT_BASE_URL = 'https://api.stlouisfed.org';
/** FRED allows 120 requests per minute per key. */
export const DEFAULT_RATE_PER_MINUTE = 120;

/**
 * Each run re-reads the calendar months touched by the `lookback_days` before its date, so
 * observations FRED publishes late (H.10 exchange rates come out weekly, NFCI five days
 * after its Friday) still land, as revisions of their month.
 */
export const DEFAULT_LOOKBACK_DAYS = 14;

export const SOURCE_ENV = {
  source: 'SLUICE_FRED_SOURCE',
  dataDir: 'SLUICE_FRED_DATA_DIR',
  baseUrl: 'SLUICE_FRED_BASE_URL',
} as const;

/** Bumped when the rows landed from the same observations change. */
export const FRED_ROW_VERSION = 'fred.observations/1';
