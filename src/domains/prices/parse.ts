import { parse } from 'csv-parse/sync';
import { PermanentError } from '../../core/errors.js';
import { describeJsonError } from '../../core/json-location.js';
import { SourceError } from '../../connectors/errors.js';
import { redact } from '../../connectors/redact.js';
import { isValidDate } from '../../time/civil-date.js';
import { zonedDate } from '../../time/zoned.js';
import { CSV_COLUMNS, MARKET_TIMEZONE } from './constants.js';

/** One daily bar as every source is parsed into. */
export interface Bar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/**
 * Structural damage in a price file or response (wrong header, a non-numeric price, a
 * missing field, two bars for one date). The same bytes fail the same way, so it is
 * permanent: the whole attempt fails, nothing lands, and the worker does not retry.
 */
export class PriceParseError extends PermanentError {
  constructor(
    readonly uri: string,
    readonly where: string,
    detail: string,
  ) {
    super(`${uri}: ${where}: ${detail}`);
  }
}

/** Alpha Vantage answered `{"Error Message": …}` (unknown symbol, bad function, bad key). */
export class AlphaVantageError extends PermanentError {
  constructor(
    readonly uri: string,
    readonly vendorMessage: string,
  ) {
    super(`GET ${uri} answered an Alpha Vantage error: ${vendorMessage}`);
  }
}

/** Polygon answered `status: ERROR | NOT_AUTHORIZED` in a 2xx body. */
export class PolygonError extends PermanentError {
  constructor(
    readonly uri: string,
    readonly vendorMessage: string,
  ) {
    super(`GET ${uri} answered a Polygon error: ${vendorMessage}`);
  }
}

/**
 * A vendor's "slow down" answered with HTTP 200 (Alpha Vantage puts `Note` or `Information`
 * in the body instead of sending 429). Retryable: the attempt fails, the work item goes to
 * RETRY_WAIT and is tried again after the pipeline's back-off.
 */
export class RateLimitedError extends SourceError {
  constructor(uri: string, vendorMessage: string) {
    super(`GET ${uri} was rate limited (HTTP 200 with a rate-limit note; retry later): ${vendorMessage}`, uri, 'source_rate_limited', {
      status: 200,
      retryable: true,
    });
  }
}

const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function number(text: unknown, uri: string, where: string, field: string): number {
  const n = typeof text === 'number' ? text : typeof text === 'string' && NUM_RE.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new PriceParseError(uri, where, `${field} ${JSON.stringify(text)} is not a non-negative number`);
  return n;
}

function volumeOf(text: unknown, uri: string, where: string): number {
  const n = number(text, uri, where, 'volume');
  // Vendors send whole shares; a fractional volume (some adjusted feeds) is rounded.
  const v = Math.round(n);
  if (!Number.isSafeInteger(v)) throw new PriceParseError(uri, where, `volume ${JSON.stringify(text)} is too large`);
  return v;
}

function bar(date: string, o: unknown, h: unknown, l: unknown, c: unknown, v: unknown, uri: string, where: string): Bar {
  return {
    date,
    open: number(o, uri, where, 'open'),
    high: number(h, uri, where, 'high'),
    low: number(l, uri, where, 'low'),
    close: number(c, uri, where, 'close'),
    volume: volumeOf(v, uri, where),
  };
}

/** Sorts by date and refuses two bars for one date. */
function finish(bars: Bar[], uri: string): Bar[] {
  bars.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  for (let i = 1; i < bars.length; i++) {
    if (bars[i]!.date === bars[i - 1]!.date) throw new PriceParseError(uri, `date ${bars[i]!.date}`, 'appears twice');
  }
  return bars;
}

/**
 * A CSV of one symbol's daily bars with the header `date,open,high,low,close,volume` (any
 * order, case-insensitive; extra columns such as adj_close are ignored), one row per date.
 */
export function parseDailyCsv(bytes: Buffer | string, uri: string): Bar[] {
  let records: string[][];
  try {
    records = parse(bytes, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    throw new PriceParseError(uri, `line ${e.lines ?? 1}`, `cannot be parsed as CSV: ${e.message ?? String(err)}`);
  }
  if (records.length === 0) throw new PriceParseError(uri, 'line 1', `the file is empty; expected the header ${CSV_COLUMNS.join(',')}`);
  const header = records[0]!.map((h) => h.trim().toLowerCase());
  const index = CSV_COLUMNS.map((c) => header.indexOf(c));
  const missing = CSV_COLUMNS.filter((_, i) => index[i]! < 0);
  if (missing.length) {
    const html = /^<(!doctype|html)/i.test(records[0]![0] ?? '') ? ' (this looks like an HTML page, not a CSV)' : '';
    throw new PriceParseError(uri, 'line 1', `header lacks ${missing.join(', ')}${html}; expected ${CSV_COLUMNS.join(',')}`);
  }
  const bars: Bar[] = [];
  // Line of each date, so a repeated date names both lines (finish() only knows dates).
  const lineOf = new Map<string, number>();
  for (let i = 1; i < records.length; i++) {
    const r = records[i]!;
    const where = `line ${i + 1}`;
    const [d, o, h, l, c, v] = index.map((j) => r[j]!);
    if (!isValidDate(d)) throw new PriceParseError(uri, where, `date ${JSON.stringify(d)} is not a date YYYY-MM-DD`);
    const first = lineOf.get(d!);
    if (first !== undefined) throw new PriceParseError(uri, where, `date ${d} appears twice (first on line ${first})`);
    lineOf.set(d!, i + 1);
    bars.push(bar(d!, o, h, l, c, v, uri, where));
  }
  return finish(bars, uri);
}

function parseJson(bytes: Buffer | string, uri: string): unknown {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    // Our own location, not V8's message: that one may quote the whole body (and a key).
    throw new SourceError(`GET ${uri} returned invalid JSON: ${describeJsonError(text)}`, uri, 'source_invalid_json');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const AV_SERIES = 'Time Series (Daily)';
const AV_FIELDS = ['1. open', '2. high', '3. low', '4. close', '5. volume'] as const;

/**
 * Alpha Vantage TIME_SERIES_DAILY JSON: `{"Meta Data": {...}, "Time Series (Daily)": {"2025-12-19":
 * {"1. open": "…", "2. high", "3. low", "4. close", "5. volume"}}}`. `Error Message` is a
 * permanent error; `Note` / `Information` is the vendor's rate limit (retryable), even though
 * it comes with HTTP 200. Invalid JSON is a (retryable) source error naming the URL.
 */
export function parseAlphaVantageDaily(bytes: Buffer | string, uri: string, symbol?: string, secrets: readonly (string | null | undefined)[] = []): Bar[] {
  const doc = parseJson(bytes, uri);
  if (!isObject(doc)) throw new PriceParseError(uri, 'body', 'is not a JSON object');
  // Vendor messages may quote the API key ("We have detected your API key as …").
  if (typeof doc['Error Message'] === 'string') throw new AlphaVantageError(uri, redact(doc['Error Message'], secrets));
  for (const key of ['Note', 'Information']) {
    if (typeof doc[key] === 'string' && !(AV_SERIES in doc)) throw new RateLimitedError(uri, redact(doc[key], secrets));
  }
  const series = doc[AV_SERIES];
  if (!isObject(series)) throw new PriceParseError(uri, 'body', `has no "${AV_SERIES}" object (keys: ${Object.keys(doc).join(', ') || 'none'})`);
  const meta = doc['Meta Data'];
  const metaSymbol = isObject(meta) ? meta['2. Symbol'] : undefined;
  if (symbol && typeof metaSymbol === 'string' && metaSymbol.toUpperCase() !== symbol) {
    throw new PriceParseError(uri, '"Meta Data"."2. Symbol"', `is ${JSON.stringify(metaSymbol)}, not the requested ${symbol}`);
  }
  const bars: Bar[] = [];
  for (const [date, value] of Object.entries(series)) {
    const where = `"${AV_SERIES}"."${date}"`;
    if (!isValidDate(date)) throw new PriceParseError(uri, where, 'key is not a date YYYY-MM-DD');
    if (!isObject(value)) throw new PriceParseError(uri, where, 'is not an object');
    for (const f of AV_FIELDS) if (!(f in value)) throw new PriceParseError(uri, where, `lacks "${f}"`);
    bars.push(bar(date, value['1. open'], value['2. high'], value['3. low'], value['4. close'], value['5. volume'], uri, where));
  }
  return finish(bars, uri);
}

/**
 * Polygon aggregates JSON (`/v2/aggs/ticker/{T}/range/1/day/{from}/{to}`):
 * `{"ticker": "AAPL", "status": "OK", "results": [{"t": ms, "o", "h", "l", "c", "v"}]}`.
 * `t` is the start of the bar's day in New York, so its New York date is the session date.
 * `status: ERROR | NOT_AUTHORIZED` is a permanent error; no `results` means no bars.
 */
export function parsePolygonAggs(bytes: Buffer | string, uri: string, symbol?: string, secrets: readonly (string | null | undefined)[] = []): Bar[] {
  const doc = parseJson(bytes, uri);
  if (!isObject(doc)) throw new PriceParseError(uri, 'body', 'is not a JSON object');
  const status = typeof doc.status === 'string' ? doc.status : null;
  if (status === 'ERROR' || status === 'NOT_AUTHORIZED') {
    throw new PolygonError(uri, redact(String(doc.error ?? doc.message ?? status), secrets));
  }
  if (symbol && typeof doc.ticker === 'string' && doc.ticker.toUpperCase() !== symbol) {
    throw new PriceParseError(uri, 'ticker', `is ${JSON.stringify(doc.ticker)}, not the requested ${symbol}`);
  }
  const results = doc.results ?? [];
  if (!Array.isArray(results)) throw new PriceParseError(uri, 'results', 'is not an array');
  const bars: Bar[] = [];
  results.forEach((r, i) => {
    const where = `results[${i}]`;
    if (!isObject(r)) throw new PriceParseError(uri, where, 'is not an object');
    if (typeof r.t !== 'number' || !Number.isFinite(r.t)) throw new PriceParseError(uri, `${where}.t`, `${JSON.stringify(r.t)} is not a millisecond timestamp`);
    bars.push(bar(zonedDate(new Date(r.t), MARKET_TIMEZONE), r.o, r.h, r.l, r.c, r.v, uri, where));
  });
  return finish(bars, uri);
}
