import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CircuitOpenError,
  HttpSource,
  HttpStatusError,
  SourceError,
  SourceTimeoutError,
  parseRetryAfter,
  type HttpSourceConfig,
} from '../../src/connectors/index.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { captureLogger, elapsed } from './helpers.js';

/** The HTTP source against a real local server: retries, Retry-After, breaker, timeouts, rate limits, key redaction. */
let server: FixtureServer;
const sources: HttpSource[] = [];

beforeEach(async () => {
  server = await startFixtureServer({
    files: { '/data.csv': 'a|b\n1|2\n', '/data.json': '{"ok":true}', '/big.csv': `a|b\n${'1|2\n'.repeat(2000)}` },
  });
});
afterEach(async () => {
  for (const s of sources.splice(0)) s.close();
  await server.close();
});

function source(config: Partial<HttpSourceConfig> = {}): HttpSource {
  const s = new HttpSource({
    name: 'fixture',
    baseUrl: server.url,
    rateLimit: false,
    backoff: { baseMs: 20, factor: 2, maxMs: 200, jitter: 0 },
    ...config,
  });
  sources.push(s);
  return s;
}

describe('HttpSource', () => {
  it('returns the bytes and the URL', async () => {
    const res = await source().get('data.csv');
    expect(res.bytes.toString()).toBe('a|b\n1|2\n');
    expect(res.uri).toBe(`${server.url}/data.csv`);
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(1);
  });

  it('retries 5xx with back-off until the server answers', async () => {
    server.behave('/data.csv', { kind: 'status', status: 500, times: 2 });
    const res = await source({ retries: 3 }).get('data.csv');
    expect(res.bytes.toString()).toBe('a|b\n1|2\n');
    expect(res.attempts).toBe(3);
    expect(server.hits('/data.csv')).toBe(3);
  });

  it('gives up after the retries with an error naming the URL and status', async () => {
    server.behave('/data.csv', { kind: 'status', status: 503 });
    const err = await source({ retries: 2 })
      .get('data.csv')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).toBe(503);
    expect((err as Error).message).toContain(`${server.url}/data.csv`);
    expect((err as Error).message).toContain('HTTP 503');
    expect((err as Error).message).toContain('gave up after 3 attempts');
    expect(server.hits('/data.csv')).toBe(3);
  });

  it('a 429 with Retry-After in seconds waits that long before the retry (measured at the server)', async () => {
    server.behave('/data.csv', { kind: 'status', status: 429, times: 1, retryAfter: '1' });
    const { log, lines } = captureLogger();
    const res = await source({ retries: 2, logger: log }).get('data.csv');
    expect(res.attempts).toBe(2);
    const [first, second] = server.times('/data.csv');
    // Back-off alone would be 20 ms; the server asked for 1 s.
    expect(second! - first!).toBeGreaterThanOrEqual(950);
    expect(lines().some((l) => l.msg === 'request failed; retrying' && l.status === 429 && l.retry_after === true)).toBe(true);
  });

  it('a 429 with Retry-After as an HTTP date waits until then', async () => {
    // HTTP dates have whole seconds: ask for "now + 2 s", which is 1–2 s away.
    server.behave('/data.csv', { kind: 'status', status: 429, times: 1, retryAfter: new Date(Date.now() + 2000).toUTCString() });
    await source({ retries: 1 }).get('data.csv');
    const [first, second] = server.times('/data.csv');
    expect(second! - first!).toBeGreaterThanOrEqual(900);
  });

  it('a Retry-After longer than the source waits is not waited for', async () => {
    server.behave('/data.csv', { kind: 'status', status: 429, retryAfter: '3600' });
    const started = performance.now();
    const err = await source({ retries: 3, maxRetryAfterMs: 5_000 })
      .get('data.csv')
      .catch((e: unknown) => e);
    expect(elapsed(started)).toBeLessThan(1_000);
    expect((err as Error).message).toMatch(/retry after 3600 s, more than the 5 s/);
    expect(server.hits('/data.csv')).toBe(1);
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2025-12-22T15:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 22 Dec 2025 15:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 22 Dec 2025 14:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('the circuit opens after repeated 5xx, rejects fast without calling the server, and closes after the reset timeout', async () => {
    server.behave('/data.csv', { kind: 'status', status: 500 });
    const { log, lines } = captureLogger();
    const s = source({ retries: 0, breaker: { failureThreshold: 3, resetTimeoutMs: 400 }, logger: log });
    for (let i = 0; i < 3; i++) await expect(s.get('data.csv')).rejects.toBeInstanceOf(HttpStatusError);
    expect(server.hits('/data.csv')).toBe(3);
    expect(s.breaker!.state).toBe('open');

    const started = performance.now();
    const err = await s.get('data.csv').catch((e: unknown) => e);
    expect(elapsed(started)).toBeLessThan(50);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as Error).message).toMatch(/source fixture: circuit breaker is open after repeated failures/);
    expect((err as Error).message).toContain(`${server.url}/data.csv`);
    // Fast rejection: the server never saw the fourth call.
    expect(server.hits('/data.csv')).toBe(3);
    expect(lines().some((l) => l.msg?.toString().startsWith('circuit breaker opened'))).toBe(true);

    await new Promise((r) => setTimeout(r, 450));
    expect(s.breaker!.state).toBe('half_open');
    server.behave('/data.csv', null);
    const res = await s.get('data.csv');
    expect(res.status).toBe(200);
    expect(server.hits('/data.csv')).toBe(4);
    expect(s.breaker!.state).toBe('closed');
    expect(lines().some((l) => l.msg === 'circuit breaker closed: source answered again')).toBe(true);
  });

  it('a failed trial call in half-open state opens the circuit again', async () => {
    server.behave('/data.csv', { kind: 'status', status: 502 });
    const s = source({ retries: 0, breaker: { failureThreshold: 2, resetTimeoutMs: 200 } });
    for (let i = 0; i < 2; i++) await expect(s.get('data.csv')).rejects.toBeInstanceOf(HttpStatusError);
    await new Promise((r) => setTimeout(r, 250));
    await expect(s.get('data.csv')).rejects.toBeInstanceOf(HttpStatusError);
    expect(server.hits('/data.csv')).toBe(3);
    expect(s.breaker!.state).toBe('open');
    await expect(s.get('data.csv')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(server.hits('/data.csv')).toBe(3);
  });

  it('404s do not trip the breaker (the source is healthy, the file is just not there)', async () => {
    const s = source({ retries: 0, breaker: { failureThreshold: 2, resetTimeoutMs: 10_000 } });
    for (let i = 0; i < 4; i++) expect(await s.getIfExists('missing.csv')).toBeNull();
    await expect(s.get('missing.csv')).rejects.toMatchObject({ status: 404, permanent: false });
    expect(s.breaker!.state).toBe('closed');
    expect(server.hits('/missing.csv')).toBe(5);
  });

  it('a request slower than the timeout is aborted with an error naming the URL', async () => {
    server.behave('/data.csv', { kind: 'slow', delayMs: 3_000 });
    const started = performance.now();
    const err = await source({ retries: 0, timeoutMs: 200 })
      .get('data.csv')
      .catch((e: unknown) => e);
    expect(elapsed(started)).toBeLessThan(1_500);
    expect(err).toBeInstanceOf(SourceTimeoutError);
    expect((err as Error).message).toBe(`GET ${server.url}/data.csv timed out after 200 ms`);
  });

  it("the caller's signal aborts a request and a back-off wait with the caller's reason", async () => {
    server.behave('/data.csv', { kind: 'slow', delayMs: 3_000 });
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    setTimeout(() => controller.abort(reason), 100);
    const started = performance.now();
    await expect(source({ timeoutMs: 10_000 }).get('data.csv', { signal: controller.signal })).rejects.toBe(reason);
    expect(elapsed(started)).toBeLessThan(1_500);

    server.behave('/data.csv', { kind: 'status', status: 503, retryAfter: '30' });
    const c2 = new AbortController();
    setTimeout(() => c2.abort(reason), 150);
    const t2 = performance.now();
    await expect(source({ retries: 3, maxRetryAfterMs: 60_000 }).get('data.csv', { signal: c2.signal })).rejects.toBe(reason);
    expect(elapsed(t2)).toBeLessThan(1_500);
  });

  it('the rate limiter spaces calls to the source', async () => {
    const s = source({ rateLimit: { capacity: 1, intervalMs: 250 } });
    await Promise.all([0, 1, 2, 3].map(() => s.get('data.csv')));
    const times = server.times('/data.csv');
    expect(times).toHaveLength(4);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(220);
  });

  it('an HTML page served with 200 is an error naming the URL and status', async () => {
    server.behave('/data.csv', { kind: 'html' });
    const err = await source({ retries: 2 })
      .get('data.csv')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('source_html');
    expect((err as Error).message).toMatch(new RegExp(`^GET ${server.url}/data.csv returned an HTML page \\(status 200, text/html`));
    // Not a transient network problem: not retried within the request.
    expect(server.hits('/data.csv')).toBe(1);
  });

  it('invalid JSON is an error naming the URL', async () => {
    server.behave('/data.json', { kind: 'invalid_json' });
    const err = await source()
      .getJson('data.json')
      .catch((e: unknown) => e);
    expect((err as SourceError).code).toBe('source_invalid_json');
    expect((err as Error).message).toContain(`GET ${server.url}/data.json returned invalid JSON (status 200)`);
    server.behave('/data.json', null);
    expect((await source().getJson<{ ok: boolean }>('data.json')).value).toEqual({ ok: true });
  });

  it('a truncated body is a network error: retried, then reported with the URL', async () => {
    server.behave('/big.csv', { kind: 'truncate', bytes: 100 });
    const err = await source({ retries: 1 })
      .get('big.csv')
      .catch((e: unknown) => e);
    expect((err as SourceError).code).toBe('source_network');
    expect((err as Error).message).toContain(`GET ${server.url}/big.csv failed`);
    expect(server.hits('/big.csv')).toBe(2);
  });

  it('the API key comes from the environment, is sent, and never appears in logs or errors', async () => {
    const key = 'sk-SECRET/key+123';
    const { log, text } = captureLogger();
    server.behave('/data.csv', { kind: 'status', status: 500 });
    const s = source({ retries: 2, apiKeyEnv: 'FIXTURE_API_KEY', env: { FIXTURE_API_KEY: key }, logger: log });
    const err = (await s.get('data.csv', { query: { symbol: 'AAPL' } }).catch((e: unknown) => e)) as SourceError;
    // The server got the real key…
    expect(server.requests[0]!.query.get('apikey')).toBe(key);
    // …nothing a human or a log shipper sees has it.
    for (const form of [key, encodeURIComponent(key)]) {
      expect(err.message).not.toContain(form);
      expect(err.uri).not.toContain(form);
      expect(String(err.stack)).not.toContain(form);
      expect(text()).not.toContain(form);
    }
    expect(err.message).toContain('apikey=***');
    expect(text()).toContain('apikey=***');
    expect(s.describe('data.csv')).toBe(`${server.url}/data.csv?apikey=***`);

    // Network-level errors too.
    server.behave('/big.csv', { kind: 'truncate', bytes: 10 });
    const netErr = (await s.get('big.csv').catch((e: unknown) => e)) as Error;
    expect(netErr.message).not.toContain(encodeURIComponent(key));
    expect(netErr.message).toContain('apikey=***');

    // A header works the same way.
    server.behave('/data.csv', null);
    const h = source({ apiKeyEnv: 'FIXTURE_API_KEY', apiKeyHeader: 'X-Api-Key', env: { FIXTURE_API_KEY: key }, logger: log });
    const res = await h.get('data.csv');
    expect(res.uri).toBe(`${server.url}/data.csv`);
    expect(server.requests.at(-1)!.headers['x-api-key']).toBe(key);
    expect(text()).not.toContain(key);
  });

  it('a missing API key variable is a permanent error naming the variable, and nothing is sent', async () => {
    const err = (await source({ apiKeyEnv: 'NOT_SET_ANYWHERE_KEY', env: {} })
      .get('data.csv')
      .catch((e: unknown) => e)) as SourceError;
    expect(err.message).toContain('environment variable NOT_SET_ANYWHERE_KEY is not set');
    expect(err.permanent).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('a connection refused is a network error naming the URL', async () => {
    const url = server.url;
    await server.close();
    const err = (await source({ baseUrl: url, retries: 1 })
      .get('data.csv')
      .catch((e: unknown) => e)) as SourceError;
    expect(err.code).toBe('source_network');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`GET ${url}/data.csv failed`);
    server = await startFixtureServer();
  });
});
