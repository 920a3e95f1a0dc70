import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp, type SluiceApp } from '../../../src/app/create-app.js';
import type { DataRow } from '../../../src/data/dataset.js';
import { startFixtureServer, type FixtureServer } from '../../helpers/fixture-server.js';
import { REPO_ROOT } from '../../helpers/process.js';
import { TEST_ACCESS, TestEnv, type TestConfig } from '../../helpers/sqlite.js';

/** Bundled demo data: CSVs at the top, the same bars as vendor JSON below. */
export const PRICE_FIXTURES = path.join(REPO_ROOT, 'fixtures', 'prices');
export const FRED_FIXTURES = path.join(REPO_ROOT, 'fixtures', 'fred');
export const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'] as const;
/** Sessions in the fixtures after the first (which has no previous bar). */
export const DATES = ['2025-12-15', '2025-12-16', '2025-12-17', '2025-12-18', '2025-12-19', '2025-12-22', '2025-12-23'] as const;

export const AV_KEY = 'av-secret-key-123';
export const POLYGON_KEY = 'pg-secret-key-456';
export const FRED_KEY = 'fred-secret-key-789';

/**
 * The vendors' real URL shapes in front of the shared fixture server. The fixture server
 * routes by path only, while Alpha Vantage and FRED pick the symbol / series in the query
 * string, so this front server rewrites each request to a fixture path and forwards it
 * (query string included, so the fixture server records the API key that was sent):
 *
 *   /query?function=TIME_SERIES_DAILY&symbol=AAPL…        -> /prices/alphavantage/AAPL.json
 *   /v2/aggs/ticker/AAPL/range/1/day/FROM/TO…              -> /prices/polygon/AAPL.json
 *   /fred/series/observations?series_id=DGS10…             -> /fred/DGS10.json
 *
 * Behaviours (429 with Retry-After, HTML pages, invalid JSON, fixed bodies) are set on the
 * rewritten path through `fixtures.behave(...)`.
 */
export interface MarketServer {
  url: string;
  fixtures: FixtureServer;
  close(): Promise<void>;
}

export const avPath = (symbol: string) => `/prices/alphavantage/${symbol}.json`;
export const polygonPath = (symbol: string) => `/prices/polygon/${symbol}.json`;
export const fredPath = (series: string) => `/fred/${series}.json`;

function rewrite(url: URL): string {
  if (url.pathname === '/query') return avPath(url.searchParams.get('symbol') ?? 'MISSING');
  const poly = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/1\/day\/[^/]+\/[^/]+$/.exec(url.pathname);
  if (poly) return polygonPath(decodeURIComponent(poly[1]!));
  if (url.pathname === '/fred/series/observations') return fredPath(url.searchParams.get('series_id') ?? 'MISSING');
  return `/unknown${url.pathname}`;
}

export async function startMarketServer(): Promise<MarketServer> {
  const fixtures = await startFixtureServer({ root: path.join(REPO_ROOT, 'fixtures') });
  const target = new URL(fixtures.url);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://market.local');
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: `${rewrite(url)}${url.search}`, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    fixtures,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fixtures.close();
    },
  };
}

/** A real app (config file, SQLite file) in a fresh temp directory. */
export async function openApp(config: TestConfig = {}): Promise<{ env: TestEnv; app: SluiceApp }> {
  const env = new TestEnv({ access: TEST_ACCESS, ...config }, 'sluice-prices-db-');
  const app = await createApp({ configPath: env.configPath, database: env.dbUrl, logLevel: 'silent' });
  return { env, app };
}

/** The data columns of rows (no capture_id / partition_key), sorted by key, for comparisons. */
export function dataOnly(rows: DataRow[]): Record<string, unknown>[] {
  return rows
    .map(({ capture_id: _c, partition_key: _p, ...rest }) => rest)
    .sort((a, b) => `${String(a.symbol)}|${String(a.date)}`.localeCompare(`${String(b.symbol)}|${String(b.date)}`));
}

/** Sets API keys in this process's environment; returns a function that restores it. */
export function withKeys(keys: Record<string, string | undefined>): () => void {
  const before = Object.fromEntries(Object.keys(keys).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(keys)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
