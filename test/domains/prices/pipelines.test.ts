import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceApp } from '../../../src/app/create-app.js';
import { runPricesBatch } from '../../../src/app/batches.js';
import type { PricesBatchRequest } from '../../../src/domains/prices/index.js';
import type { RunResult } from '../../../src/core/run-result.js';
import { dailyOhlcv, PRICES_DOMAIN } from '../../../src/domains/prices/index.js';
import { enqueueWork } from '../../../src/engine/enqueue.js';
import type { TestEnv } from '../../helpers/sqlite.js';
import {
  AV_KEY,
  DATES,
  POLYGON_KEY,
  PRICE_FIXTURES,
  SYMBOLS,
  avPath,
  dataOnly,
  openApp,
  polygonPath,
  startMarketServer,
  withKeys,
  type MarketServer,
} from './support.js';

/**
 * prices.daily_ohlcv end to end, in process: real SQLite files, the real `sluice prices`
 * batch (runInline), sources through files and a real HTTP server speaking the vendors' URL
 * shapes. Vendor rate limits are set fast here (the defaults are 5 calls per minute).
 */
const opened: { env: TestEnv; app: SluiceApp }[] = [];
let server: MarketServer | undefined;
let restoreKeys: (() => void) | undefined;

afterEach(async () => {
  for (const { env, app } of opened.splice(0)) {
    await app.close();
    env.cleanup();
  }
  await server?.close();
  server = undefined;
  restoreKeys?.();
  restoreKeys = undefined;
});

async function setup(): Promise<SluiceApp> {
  const o = await openApp();
  opened.push(o);
  return o.app;
}

async function market(): Promise<MarketServer> {
  server = await startMarketServer();
  restoreKeys = withKeys({ ALPHAVANTAGE_API_KEY: AV_KEY, POLYGON_API_KEY: POLYGON_KEY });
  return server;
}

const FAST = { rate_limit_per_minute: 60_000 };
const FULL_RANGE: Partial<PricesBatchRequest> = { symbols: [...SYMBOLS], from: DATES[0], to: DATES.at(-1) };

function entry(result: RunResult, symbol: string, date: string) {
  const found = result.runs.find((r) => r.sluice_partition_key === `date=${date}|symbol=${symbol}`);
  if (!found) throw new Error(`no run entry for ${symbol} ${date}: ${JSON.stringify(result.runs.map((r) => r.partition_key))}`);
  return found;
}

describe('prices.daily_ohlcv', () => {
  it('a CSV directory, Alpha Vantage and Polygon land the same rows; change and change_pct by hand', async () => {
    const m = await market();
    const viaFile = await setup();
    const viaAv = await setup();
    const viaPolygon = await setup();

    const file = await runPricesBatch(viaFile, { ...FULL_RANGE, source: { source: 'file', data_dir: PRICE_FIXTURES } });
    const av = await runPricesBatch(viaAv, { ...FULL_RANGE, source: { source: 'alphavantage', base_url: m.url, ...FAST } });
    const poly = await runPricesBatch(viaPolygon, { ...FULL_RANGE, source: { source: 'polygon', base_url: m.url, ...FAST } });
    for (const r of [file, av, poly]) {
      expect(r.status, JSON.stringify(r.runs.filter((x) => x.status !== 'completed'))).toBe('success');
      expect(r.stats).toEqual({ attempted: 21, succeeded: 21, failed: 0, skipped: 0 });
      expect(r.domain).toBe(PRICES_DOMAIN);
    }

    const rows = dataOnly(await viaFile.data.latest(dailyOhlcv));
    expect(rows).toHaveLength(21);
    expect(dataOnly(await viaAv.data.latest(dailyOhlcv))).toEqual(rows);
    expect(dataOnly(await viaPolygon.data.latest(dailyOhlcv))).toEqual(rows);

    // AAPL.csv: 2025-12-15 close 275.02, 2025-12-16 close 279.13 -> +4.11 = 4.11 / 275.02 = +1.494437%.
    const aapl = rows.find((r) => r.symbol === 'AAPL' && r.date === '2025-12-16')!;
    expect(aapl).toEqual({
      symbol: 'AAPL',
      date: '2025-12-16',
      open: 275.88,
      high: 281.77,
      low: 273.19,
      close: 279.13,
      volume: 46438814,
      prev_date: '2025-12-15',
      prev_close: 275.02,
      change: 4.11,
      change_pct: 1.494437,
    });
    // Monday 2025-12-22 compares with Friday 2025-12-19 (the previous session), not Sunday.
    expect(rows.find((r) => r.symbol === 'MSFT' && r.date === '2025-12-22')!.prev_date).toBe('2025-12-19');

    // One vendor call per symbol for the whole range, the key sent but never shown.
    for (const s of SYMBOLS) {
      expect(m.fixtures.hits(avPath(s)), s).toBe(1);
      expect(m.fixtures.hits(polygonPath(s)), s).toBe(1);
    }
    const avReq = m.fixtures.requests.find((r) => r.path === avPath('AAPL'))!;
    expect(Object.fromEntries(avReq.query)).toEqual({ function: 'TIME_SERIES_DAILY', symbol: 'AAPL', outputsize: 'compact', datatype: 'json', apikey: AV_KEY });
    const polyReq = m.fixtures.requests.find((r) => r.path === polygonPath('AAPL'))!;
    expect(polyReq.query.get('apiKey')).toBe(POLYGON_KEY);
    const captures = await viaAv.data.listCaptures({ domain: PRICES_DOMAIN });
    expect(captures).toHaveLength(21);
    for (const c of captures) {
      expect(c.source).toContain('apikey=***');
      expect(c.source).not.toContain(AV_KEY);
    }
    expect(JSON.stringify(av)).not.toContain(AV_KEY);
    expect(JSON.stringify(poly)).not.toContain(POLYGON_KEY);

    // The same bars from another source are unchanged content: skipped, nothing re-landed.
    const again = await runPricesBatch(viaFile, { ...FULL_RANGE, source: { source: 'alphavantage', base_url: m.url, ...FAST } });
    expect(again.status).toBe('success');
    expect(again.stats).toEqual({ attempted: 0, succeeded: 0, failed: 0, skipped: 21 });
    expect(again.runs.every((r) => r.reason?.startsWith('unchanged: same content hash'))).toBe(true);
    expect(await viaFile.data.listCaptures({ domain: PRICES_DOMAIN })).toHaveLength(21);
  });

  it('the first bar of a series has no change (warning); a source without the previous bar uses the landed one', async () => {
    const a = await setup();
    const first = await runPricesBatch(a, { symbols: ['AAPL'], date: '2025-12-12', source: { source: 'file', data_dir: PRICE_FIXTURES } });
    expect(first.status).toBe('success');
    expect(first.warnings).toEqual([
      `date=2025-12-12|symbol=AAPL: AAPL 2025-12-12: no earlier bar in ${PRICE_FIXTURES}/AAPL.csv or in the dataset; change and change_pct are null`,
    ]);
    const [row] = await a.data.latest(dailyOhlcv, { where: { symbol: 'AAPL', date: '2025-12-12' } });
    expect(row).toMatchObject({ close: 274.03, prev_date: null, prev_close: null, change: null, change_pct: null });

    // A source holding only 2025-12-15: the previous session's bar comes from the dataset.
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-prices-'));
    try {
      writeFileSync(path.join(dir, 'AAPL.csv'), 'date,open,high,low,close,volume\n2025-12-15,273.63,275.12,272.56,275.02,44740174\n');
      const next = await runPricesBatch(a, { symbols: ['AAPL'], date: '2025-12-15', source: { source: 'file', data_dir: dir } });
      expect(next.status).toBe('success');
      expect(next.warnings).toEqual([]);
      const [monday] = await a.data.latest(dailyOhlcv, { where: { symbol: 'AAPL', date: '2025-12-15' } });
      // 275.02 - 274.03 = 0.99 = 0.361274% of 274.03
      expect(monday).toMatchObject({ prev_date: '2025-12-12', prev_close: 274.03, change: 0.99, change_pct: 0.361274 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Alpha Vantage "Note" / "Information" with HTTP 200 is a rate limit: the attempt fails (retryable), naming the URL without the key', async () => {
    const m = await market();
    const a = await setup();
    m.fixtures.behave(avPath('AAPL'), {
      kind: 'body',
      contentType: 'application/json',
      body: JSON.stringify({ Note: 'Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day.' }),
    });
    m.fixtures.behave(avPath('MSFT'), {
      kind: 'body',
      contentType: 'application/json',
      body: JSON.stringify({ Information: 'We have detected your API key as ' + AV_KEY + ' and our standard API rate limit is 25 requests per day.' }),
    });
    const result = await runPricesBatch(a, {
      symbols: ['AAPL', 'MSFT', 'NVDA'],
      date: '2025-12-19',
      source: { source: 'alphavantage', base_url: m.url, ...FAST },
    });
    expect(result.status).toBe('partial');
    const url = (s: string) => `${m.url}/query?function=TIME_SERIES_DAILY&symbol=${s}&outputsize=compact&datatype=json&apikey=***`;
    expect(entry(result, 'AAPL', '2025-12-19').error).toBe(
      `GET ${url('AAPL')} was rate limited (HTTP 200 with a rate-limit note; retry later): Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day.`,
    );
    expect(entry(result, 'MSFT', '2025-12-19').error).toContain(`GET ${url('MSFT')} was rate limited`);
    expect(JSON.stringify(result)).not.toContain(AV_KEY);
    for (const s of ['AAPL', 'MSFT']) {
      const item = (await a.store.findItem(PRICES_DOMAIN, 'daily_ohlcv', `date=2025-12-19|symbol=${s}`))!;
      expect(item.state, s).toBe('RETRY_WAIT');
      expect(item.lastError).not.toContain(AV_KEY);
    }
    expect((await a.data.latest(dailyOhlcv)).map((r) => r.symbol)).toEqual(['NVDA']);

    // The vendor lets us through again: the retry lands.
    m.fixtures.behave(avPath('AAPL'), null);
    const retried = await runPricesBatch(a, { symbols: ['AAPL'], date: '2025-12-19', source: { source: 'alphavantage', base_url: m.url, ...FAST } });
    expect(retried.status).toBe('success');
    expect((await a.store.findItem(PRICES_DOMAIN, 'daily_ohlcv', 'date=2025-12-19|symbol=AAPL'))!.state).toBe('COMPLETE');
  });

  it('Alpha Vantage "Error Message" fails permanently (FAILED, no retry), naming the URL with the key redacted', async () => {
    const m = await market();
    const a = await setup();
    m.fixtures.behave(avPath('AAPL'), {
      kind: 'body',
      contentType: 'application/json',
      body: JSON.stringify({
        'Error Message': 'Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.',
      }),
    });
    const result = await runPricesBatch(a, { symbols: ['AAPL'], date: '2025-12-19', source: { source: 'alphavantage', base_url: m.url, ...FAST } });
    expect(result.status).toBe('failure');
    const run = entry(result, 'AAPL', '2025-12-19');
    expect(run.error).toBe(
      `GET ${m.url}/query?function=TIME_SERIES_DAILY&symbol=AAPL&outputsize=compact&datatype=json&apikey=*** answered an Alpha Vantage error: Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.`,
    );
    expect((await a.store.findItem(PRICES_DOMAIN, 'daily_ohlcv', 'date=2025-12-19|symbol=AAPL'))!.state).toBe('FAILED');
    expect(await a.data.latest(dailyOhlcv)).toEqual([]);
  });

  it('HTTP 429 with Retry-After: the connector waits as asked and the bar lands', async () => {
    const m = await market();
    const a = await setup();
    m.fixtures.behave(polygonPath('MSFT'), { kind: 'status', status: 429, times: 1, retryAfter: '1' });
    const result = await runPricesBatch(a, { symbols: ['MSFT'], date: '2025-12-19', source: { source: 'polygon', base_url: m.url, ...FAST } });
    expect(result.status).toBe('success');
    const times = m.fixtures.times(polygonPath('MSFT'));
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(await a.data.latest(dailyOhlcv, { where: { symbol: 'MSFT' } })).toHaveLength(1);
  });

  for (const [what, behaviour, message] of [
    ['invalid JSON', { kind: 'invalid_json' }, 'returned invalid JSON'],
    ['an HTML error page with status 200', { kind: 'html' }, 'returned an HTML page (status 200, text/html; charset=utf-8) where data was expected'],
  ] as const) {
    it(`${what}: the attempt fails naming the URL and nothing lands`, async () => {
      const m = await market();
      const a = await setup();
      m.fixtures.behave(avPath('AAPL'), behaviour);
      const result = await runPricesBatch(a, {
        symbols: ['AAPL'],
        from: '2025-12-18',
        to: '2025-12-19',
        source: { source: 'alphavantage', base_url: m.url, ...FAST },
      });
      expect(result.status).toBe('failure');
      expect(result.stats.failed).toBe(2);
      for (const r of result.runs) {
        expect(r.error).toContain(`GET ${m.url}/query?function=TIME_SERIES_DAILY&symbol=AAPL&outputsize=compact&datatype=json&apikey=*** ${message}`);
        expect(r.error).not.toContain(AV_KEY);
      }
      expect(await a.data.latest(dailyOhlcv)).toEqual([]);
      expect(await a.data.listCaptures({ domain: PRICES_DOMAIN })).toEqual([]);
      // Fetched once for both dates of the batch.
      expect(m.fixtures.hits(avPath('AAPL'))).toBe(1);
    });
  }

  it('a missing API key fails permanently naming the variable; the rate limiter spaces calls', async () => {
    const m = await market();
    const a = await setup();
    const restore = withKeys({ POLYGON_API_KEY: undefined });
    try {
      const result = await runPricesBatch(a, { symbols: ['AAPL'], date: '2025-12-19', source: { source: 'polygon', base_url: m.url, ...FAST } });
      expect(result.status).toBe('failure');
      expect(result.runs[0]!.error).toContain('environment variable POLYGON_API_KEY is not set');
      expect((await a.store.findItem(PRICES_DOMAIN, 'daily_ohlcv', 'date=2025-12-19|symbol=AAPL'))!.state).toBe('FAILED');
    } finally {
      restore();
    }

    // 60 calls per minute, no burst: the limiter lets one call go every 1,000 ms. The server
    // stamps arrivals, not departures, and the first call also opens the connection, so an
    // arrival gap can come out shorter than the limiter's by that call's extra latency (up to
    // ~100 ms on a loaded 2-core machine); 800 ms still fails any limiter that lets two go at once.
    const spaced = await runPricesBatch(a, {
      symbols: [...SYMBOLS],
      date: '2025-12-18',
      source: { source: 'alphavantage', base_url: m.url, rate_limit_per_minute: 60, rate_limit_burst: 1 },
    });
    expect(spaced.status).toBe('success');
    const times = SYMBOLS.map((s) => m.fixtures.times(avPath(s))[0]!).sort((x, y) => x - y);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(800);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(800);
  });

  it('partitions are XNYS sessions: a holiday or weekend is refused before anything is enqueued', async () => {
    const a = await setup();
    await expect(runPricesBatch(a, { symbols: ['AAPL'], date: '2025-12-25', source: { source: 'file', data_dir: PRICE_FIXTURES } })).rejects.toThrow(
      '--date: "2025-12-25" is invalid: must be an XNYS session (2025-12-25 is closed: Christmas Day)',
    );
    await expect(enqueueWork(a.store, a.registry, [{ pipeline: 'prices.daily_ohlcv', partition: { date: '2025-12-20', symbol: 'AAPL' } }])).rejects.toThrow(
      /2025-12-20 is closed: weekend/,
    );
    await expect(enqueueWork(a.store, a.registry, [{ pipeline: 'prices.daily_ohlcv', partition: { date: '2025-12-19', symbol: 'aapl' } }])).rejects.toThrow(
      /upper-case ticker/,
    );
    expect(await a.store.countItems()).toBe(0);
  });
});
