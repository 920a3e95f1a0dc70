import type { Logger } from '../core/logger.js';
import { ValidationError } from '../core/errors.js';
import { abortableSleep } from './abortable.js';
import { SourceCircuitBreaker, type BreakerOptions } from './circuit-breaker.js';
import { HttpStatusError, SourceError, SourceTimeoutError } from './errors.js';
import { TokenBucket, type RateLimit } from './rate-limiter.js';
import { redact } from './redact.js';

/** What every source returns: the exact bytes (for the content hash) and where they came from. */
export interface SourceBytes {
  bytes: Buffer;
  /** URL (API key redacted) or absolute file path. */
  uri: string;
}

export interface HttpResponseBytes extends SourceBytes {
  status: number;
  contentType: string | null;
  /** Requests it took, retries included. */
  attempts: number;
}

export interface BackoffOptions {
  /** First retry delay (default 500 ms); each further retry multiplies it by `factor` (default 2). */
  baseMs?: number;
  factor?: number;
  /** Longest delay between retries (default 30 s). */
  maxMs?: number;
  /** Share of each delay that is random, 0..1 (default 0.5). */
  jitter?: number;
}

export interface HttpSourceConfig {
  /** Names the source in logs, errors, the rate limiter and the circuit breaker, e.g. `finra`. */
  name: string;
  /** Relative paths given to `get` resolve against it. */
  baseUrl?: string;
  /** Per request, body included (default 30 s). Combined with the caller's signal. */
  timeoutMs?: number;
  /** Extra attempts after the first for network errors, timeouts, 5xx, 408 and 429 (default 3). */
  retries?: number;
  backoff?: BackoffOptions;
  /** A `Retry-After` longer than this is not waited for: the request fails (default 2 min). */
  maxRetryAfterMs?: number;
  /** Token bucket per source (default 60 calls per minute); `false` for none. */
  rateLimit?: RateLimit | false;
  /** Circuit breaker per source; `false` for none. */
  breaker?: BreakerOptions | false;
  /** Name of the environment variable that holds the API key. Keys never come from config files. */
  apiKeyEnv?: string;
  /** Query parameter the key goes in (default `apikey`), unless `apiKeyHeader` is set. */
  apiKeyParam?: string;
  /** Header the key goes in instead of the query string, e.g. `X-Api-Key`. */
  apiKeyHeader?: string;
  headers?: Record<string, string>;
  /** Where `apiKeyEnv` is looked up (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default logger; a call's own `log` wins. */
  logger?: Logger;
}

export interface HttpGetOptions {
  /** The handler's signal: aborting it stops the request, a back-off wait or a rate-limit wait. */
  signal?: AbortSignal;
  log?: Logger;
  query?: Record<string, string>;
  /** `data` (default): a 2xx HTML page is an error, not data. */
  expect?: 'data' | 'any';
}

const DEFAULT_RATE_LIMIT: RateLimit = { capacity: 60, intervalMs: 60_000 };
const NOT_FOUND = Symbol('not found');

/**
 * An HTTP source: native fetch with a per-request timeout combined with the caller's signal
 * (`AbortSignal.any`), retries with exponential back-off that honour `Retry-After` (seconds
 * or an HTTP date), a token-bucket rate limiter and a circuit breaker per source, and an API
 * key read from an environment variable that is redacted from every log line and error.
 *
 * Order per request: breaker open? -> fail fast; wait for a rate-limit token; one request
 * through the breaker; on a retryable failure wait (Retry-After or back-off) and go again.
 */
export class HttpSource {
  readonly name: string;
  readonly limiter: TokenBucket | null;
  readonly breaker: SourceCircuitBreaker | null;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoff: Required<BackoffOptions>;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly config: HttpSourceConfig) {
    if (!config.name) throw new ValidationError('source.name', config.name, 'be a non-empty name');
    this.name = config.name;
    if (config.baseUrl !== undefined) parseUrl(config.baseUrl, 'source.baseUrl');
    this.timeoutMs = config.timeoutMs ?? 30_000;
    this.retries = config.retries ?? 3;
    this.backoff = { baseMs: 500, factor: 2, maxMs: 30_000, jitter: 0.5, ...config.backoff };
    this.maxRetryAfterMs = config.maxRetryAfterMs ?? 120_000;
    this.limiter = config.rateLimit === false ? null : new TokenBucket(config.rateLimit ?? DEFAULT_RATE_LIMIT);
    this.breaker =
      config.breaker === false
        ? null
        : // Transitions are logged by `request` with the calling handler's logger.
          new SourceCircuitBreaker(config.name, { isFailure: countsAgainstSource, ...config.breaker });
  }

  /** GET; a 404 is an HttpStatusError. */
  async get(target: string, options: HttpGetOptions = {}): Promise<HttpResponseBytes> {
    const res = await this.request(target, options, false);
    return res!;
  }

  /** GET; a 404 resolves to null (for trying several candidate names). */
  async getIfExists(target: string, options: HttpGetOptions = {}): Promise<HttpResponseBytes | null> {
    return this.request(target, options, true);
  }

  /** GET and parse JSON; invalid JSON is an error naming the URL. */
  async getJson<T = unknown>(target: string, options: HttpGetOptions = {}): Promise<{ value: T } & HttpResponseBytes> {
    const res = await this.get(target, options);
    try {
      return { ...res, value: JSON.parse(res.bytes.toString('utf8')) as T };
    } catch (err) {
      throw new SourceError(`GET ${res.uri} returned invalid JSON (status ${res.status}): ${(err as Error).message}`, res.uri, 'source_invalid_json', {
        status: res.status,
      });
    }
  }

  /** The URL `target` resolves to, with the API key redacted (what logs and errors show). */
  describe(target: string): string {
    const key = this.apiKeyOrNull();
    return redact(this.buildUrl(target, undefined, key).href, [key]);
  }

  private async request(target: string, options: HttpGetOptions, allowNotFound: boolean): Promise<HttpResponseBytes | null> {
    const log = options.log ?? this.config.logger;
    const key = this.apiKey();
    const url = this.buildUrl(target, options.query, key);
    const uri = redact(url.href, [key]);
    const signal = options.signal;
    const maxAttempts = 1 + Math.max(0, this.retries);
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw signal.reason;
      this.breaker?.check(uri);
      if (this.limiter) {
        const waited = await this.limiter.acquire(signal);
        if (waited > 0) log?.debug({ source: this.name, url: uri, waited_ms: Math.round(waited) }, 'rate limit: waited for a token');
      }
      const stateBefore = this.breaker?.state;
      try {
        const once = () => this.once(url, uri, key, options, allowNotFound);
        const res = this.breaker ? await this.breaker.exec(once, uri) : await once();
        if (stateBefore === 'half_open' && this.breaker?.state === 'closed')
          log?.info({ source: this.name, url: uri }, 'circuit breaker closed: source answered again');
        if (res === NOT_FOUND) return null;
        if (attempt > 1) log?.info({ source: this.name, url: uri, attempts: attempt }, 'request succeeded after retries');
        return { ...res, attempts: attempt };
      } catch (err) {
        if (this.breaker && stateBefore !== 'open' && this.breaker.state === 'open') {
          log?.warn(
            { source: this.name, url: uri, reset_timeout_ms: this.breaker.resetTimeoutMs, retry_at: this.breaker.retryAt?.toISOString() },
            'circuit breaker opened: source keeps failing; calls are refused until the reset timeout',
          );
        }
        if (signal?.aborted) throw signal.reason;
        if (!(err instanceof SourceError)) throw err;
        if (!err.retryable || attempt >= maxAttempts) {
          if (attempt > 1) err.message = `${err.message} (gave up after ${attempt} attempts)`;
          throw err;
        }
        const delay = err.retryAfterMs ?? this.backoffMs(attempt);
        if (delay > this.maxRetryAfterMs) {
          err.message = `${err.message}; the server asked to retry after ${Math.round(delay / 1000)} s, more than the ${Math.round(this.maxRetryAfterMs / 1000)} s this source waits`;
          throw err;
        }
        log?.warn(
          {
            source: this.name,
            url: uri,
            attempt,
            status: err.status,
            retry_in_ms: Math.round(delay),
            retry_after: err.retryAfterMs !== null,
            err: err.message,
          },
          'request failed; retrying',
        );
        await abortableSleep(delay, signal);
      }
    }
  }

  private async once(url: URL, uri: string, key: string | null, options: HttpGetOptions, allowNotFound: boolean) {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'user-agent': 'sluice', ...this.config.headers };
    if (key !== null && this.config.apiKeyHeader) headers[this.config.apiKeyHeader] = key;
    let res: Response;
    let bytes: Buffer;
    try {
      res = await fetchSameOrigin(url, { signal, headers }, uri);
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (err instanceof SourceError) throw err;
      if (timeout.aborted) throw new SourceTimeoutError(`GET ${uri} timed out after ${this.timeoutMs} ms`, uri, this.timeoutMs);
      throw new SourceError(`GET ${uri} failed: ${redact(describeNetworkError(err), [key])}`, uri, 'source_network', { retryable: true });
    }
    const contentType = res.headers.get('content-type');
    if (res.status === 404 && allowNotFound) return NOT_FOUND;
    if (res.status < 200 || res.status > 299) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      const note = retryAfterMs !== null ? ` (Retry-After ${res.headers.get('retry-after')})` : '';
      throw new HttpStatusError(`GET ${uri} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${note}`, uri, res.status, retryAfterMs);
    }
    if ((options.expect ?? 'data') === 'data' && looksLikeHtml(bytes)) {
      throw new SourceError(
        `GET ${uri} returned an HTML page (status ${res.status}${contentType ? `, ${contentType}` : ''}) where data was expected`,
        uri,
        'source_html',
        {
          status: res.status,
        },
      );
    }
    return { bytes, uri, status: res.status, contentType };
  }

  private backoffMs(attempt: number): number {
    const { baseMs, factor, maxMs, jitter } = this.backoff;
    const full = Math.min(maxMs, baseMs * factor ** (attempt - 1));
    return full * (1 - jitter * Math.random());
  }

  private apiKeyOrNull(): string | null {
    if (!this.config.apiKeyEnv) return null;
    const value = (this.config.env ?? process.env)[this.config.apiKeyEnv];
    return value ? value : null;
  }

  private apiKey(): string | null {
    if (!this.config.apiKeyEnv) return null;
    const key = this.apiKeyOrNull();
    if (key === null) {
      throw new SourceError(
        `source ${this.name}: environment variable ${this.config.apiKeyEnv} is not set; it must hold the API key (keys are read from the environment only)`,
        this.config.baseUrl ?? this.name,
        'source_config',
        { permanent: true },
      );
    }
    return key;
  }

  private buildUrl(target: string, query: Record<string, string> | undefined, key: string | null): URL {
    let url: URL;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) url = parseUrl(target, 'url');
    else if (this.config.baseUrl) {
      const base = this.config.baseUrl.endsWith('/') ? this.config.baseUrl : `${this.config.baseUrl}/`;
      url = new URL(target.replace(/^\/+/, ''), base);
    } else throw new ValidationError('url', target, `be an absolute URL (source ${this.name} has no baseUrl)`);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    if (key !== null && !this.config.apiKeyHeader) url.searchParams.set(this.config.apiKeyParam ?? 'apikey', key);
    return url;
  }

  /** Stops the breaker's timers. */
  close(): void {
    this.breaker?.shutdown();
  }
}

/** What trips the breaker: the source being unhealthy, not a caller's abort or a 404. */
function countsAgainstSource(err: unknown): boolean {
  if (!(err instanceof SourceError)) return false;
  return err.retryable || err.code === 'source_html';
}

function parseUrl(text: string, field: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new ValidationError(field, text, 'be an http:// or https:// URL');
  }
}

/** `Retry-After`: delay-seconds or an HTTP date; milliseconds from `now`, or null if absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (/^\d+\.\d+$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** A body that is an HTML page (an error or maintenance page served with 200). */
export function looksLikeHtml(bytes: Buffer): boolean {
  const head = bytes
    .subarray(0, 1024)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html') || /<html[\s>]/.test(head);
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause ? (cause.code ?? cause.message) : undefined;
  return detail && !err.message.includes(detail) ? `${err.message} (${detail})` : err.message;
}

const shared = new Map<string, HttpSource>();

/**
 * One HttpSource (so one rate limiter and one circuit breaker) per source name and settings
 * in this process: every ingest of the same source shares them.
 */
export function sharedHttpSource(config: HttpSourceConfig): HttpSource {
  const { logger: _logger, env: _env, ...settings } = config;
  const id = JSON.stringify(settings);
  let source = shared.get(id);
  if (!source) {
    // No default logger: it would be the first caller's (one work item's) logger forever.
    // Calls pass their own `log`.
    source = new HttpSource({ ...config, logger: undefined });
    shared.set(id, source);
  }
  return source;
}

const MAX_REDIRECTS = 5;

/**
 * `fetch` that follows redirects only within the URL's own origin. The host a request goes
 * to was checked against the config's allowed hosts; a redirect to another origin (another
 * host, port or scheme) would step around that check, and would carry a query-string API
 * key along, so it fails for good instead.
 */
async function fetchSameOrigin(url: URL, init: { signal: AbortSignal; headers: Record<string, string> }, uri: string): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetch(current, { ...init, redirect: 'manual' });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (location === null) return res;
    await res.body?.cancel();
    const next = new URL(location, current);
    if (next.origin !== url.origin) {
      throw new SourceError(
        `GET ${uri} redirected to another origin (${next.origin}); Sluice follows redirects only within ${url.origin}`,
        uri,
        'source_config',
        { permanent: true, status: res.status },
      );
    }
    if (hop >= MAX_REDIRECTS)
      throw new SourceError(`GET ${uri} redirected more than ${MAX_REDIRECTS} times`, uri, 'source_config', { permanent: true, status: res.status });
    current = next;
  }
}
