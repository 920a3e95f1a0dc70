import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PG_URL, describeIfPg } from '../helpers/pg.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, type InProcessResult } from '../helpers/in-process-cli.js';
import { logLines, runSluice } from '../helpers/process.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { TEST_ACCESS, TestEnv } from '../helpers/sqlite.js';
import { AV_KEY, POLYGON_KEY, PRICE_FIXTURES, avPath, polygonPath, startMarketServer, type MarketServer } from '../domains/prices/support.js';
import { FIXTURES } from '../domains/finra/support.js';

/**
 * Every flag of the scheduler ops guide's two CLI tables (seed 001: schedule_finra.py and
 * schedule_prices.py), one test each, as `sluice finra` / `sluice prices` take them. Most
 * calls run the real CLI in this process (commander, the app, a real SQLite file, real HTTP
 * servers on 127.0.0.1); what only a process shows (logs on fd 2, the environment a cron
 * job sets) runs `bin/sluice.js` as a child.
 */
const GUIDE = '/work/shared/seeds/001_dd373e6406682f40.txt';

let env: TestEnv;
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  env?.cleanup();
});

function fresh(): TestEnv {
  env = new TestEnv({ access: TEST_ACCESS });
  return env;
}

/** `sluice --config … --db … <args>` in process; JSON stdout parsed when the run printed one. */
async function sluice(args: readonly string[], extraEnv: Record<string, string | undefined> = {}): Promise<InProcessResult & { json: any }> {
  const res = await cliInProcess(env.args(args), extraEnv);
  let json: any = null;
  if (res.stdout.trimStart().startsWith('{')) json = JSON.parse(res.stdout);
  return { ...res, json };
}

const runsOf = (json: any) => (json.runs as any[]).map((r) => `${r.pipeline.split('.').pop()} ${r.partition_key} ${r.status}`);
const finra = (args: string[]) => sluice(['finra', '--log-level', 'ERROR', ...args]);
const prices = (args: string[], extraEnv: Record<string, string | undefined> = {}) => sluice(['prices', '--log-level', 'ERROR', ...args], extraEnv);

// The flags as the guide's tables list them: the tests below cover each.
const FINRA_FLAGS = ['--lookback-weeks', '--weeks', '--tiers', '--source', '--mode', '--force', '--only-stage', '--fail-fast', '--db', '--log-level', '--json'];
const PRICES_FLAGS = [
  '--symbols',
  '--symbols-file',
  '--source',
  '--outputsize',
  '--sleep',
  '--max-symbols',
  '--mode',
  '--fail-fast',
  '--db',
  '--log-level',
  '--json',
];

describe('the guide tables', () => {
  it('list exactly the flags tested here', async () => {
    const text = (await import('node:fs')).readFileSync(GUIDE, 'utf8');
    const tables = [...text.matchAll(/### CLI Flags\n\n([\s\S]*?)\n\n/g)].map((m) => [...m[1]!.matchAll(/^\| `(--[a-z-]+)`/gm)].map((x) => x[1]));
    expect(tables).toEqual([FINRA_FLAGS, PRICES_FLAGS]);
  });
});

describe('sluice finra, flag by flag (schedule_finra.py)', () => {
  it('--lookback-weeks: default 4, N published weeks back, over 12 clamped with the guide line on stderr', async () => {
    fresh();
    const dflt = await finra(['--as-of', '2025-12-22', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(dflt.json.config).toMatchObject({ lookback_weeks: 4, weeks: ['2025-11-28', '2025-12-05', '2025-12-12', '2025-12-19'] });
    const two = await finra(['--lookback-weeks', '2', '--as-of', '2025-12-22', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.json.config).toMatchObject({ lookback_weeks: 2, weeks: ['2025-12-12', '2025-12-19'] });
    const clamped = await sluice(['finra', '--lookback-weeks', '20', '--as-of', '2025-12-22', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(clamped.stderr).toContain('WARNING: Lookback 20 exceeds max 12, clamped. Use --force to override.\n');
    expect(clamped.json.config.lookback_weeks).toBe(12);
    expect(clamped.json.config.weeks).toHaveLength(12);
    const bad = await finra(['--lookback-weeks', 'four', '--json']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--lookback-weeks');
  });

  it("--weeks: any date of a week names it by its Friday, with a warning; the guide's own Mondays work", async () => {
    fresh();
    const res = await sluice([
      'finra',
      '--weeks',
      '2025-12-15,2025-12-08',
      '--tiers',
      'NMS_TIER_1',
      '--only-stage',
      'ingest',
      '--data-dir',
      FIXTURES,
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.config.weeks).toEqual(['2025-12-12', '2025-12-19']);
    expect(runsOf(res.json)).toEqual(['ingest_week 2025-12-12|NMS_TIER_1 completed', 'ingest_week 2025-12-19|NMS_TIER_1 completed']);
    expect(res.stderr).toContain('WARNING: --weeks 2025-12-15 is a Monday; running the week ending Friday 2025-12-19 (a week is named by its Friday)\n');
    expect(res.json.warnings).toContain('WARNING: --weeks 2025-12-08 is a Monday; running the week ending Friday 2025-12-12 (a week is named by its Friday)');
    // The guide's example, verbatim: accepted (2025-12-26's files are not in the fixtures, so the dry run says so and exits 1).
    const guide = await finra(['--weeks', '2025-12-15,2025-12-22', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(guide.json.config.weeks).toEqual(['2025-12-19', '2025-12-26']);
    expect(guide.code).toBe(1);
    const bad = await finra(['--weeks', '2025-13-01', '--json']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--weeks: "2025-13-01" is invalid: must be dates YYYY-MM-DD');
  });

  it('--tiers: default all three; a list runs only those; an unknown tier is refused', async () => {
    fresh();
    const all = await finra(['--weeks', '2025-12-19', '--mode', 'dry-run', '--only-stage', 'ingest', '--data-dir', FIXTURES, '--json']);
    expect(all.json.config.tiers).toEqual(['NMS_TIER_1', 'NMS_TIER_2', 'OTC']);
    const two = await finra(['--weeks', '2025-12-19', '--tiers', 'NMS_TIER_2,OTC', '--only-stage', 'ingest', '--data-dir', FIXTURES, '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(runsOf(two.json)).toEqual(['ingest_week 2025-12-19|NMS_TIER_2 completed', 'ingest_week 2025-12-19|OTC completed']);
    const bad = await finra(['--tiers', 'TIER_9', '--json']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--tiers: "TIER_9" is invalid: must be one of NMS_TIER_1, NMS_TIER_2, OTC');
  });

  it('--source: api (HTTP, from a server on 127.0.0.1) or file; anything else is refused', async () => {
    fresh();
    const server: FixtureServer = await startFixtureServer({ root: FIXTURES });
    servers.push(server);
    const api = await finra([
      '--weeks',
      '2025-12-19',
      '--tiers',
      'NMS_TIER_1',
      '--only-stage',
      'ingest',
      '--source',
      'api',
      '--base-url',
      server.url,
      '--json',
    ]);
    expect(api.code, api.stderr).toBe(0);
    expect(api.json.config.source).toEqual({ kind: 'http', base_url: server.url });
    expect(api.json.runs[0]).toMatchObject({ status: 'completed', row_count: expect.any(Number) });
    expect(server.hits('/tier1_20251219.csv')).toBe(1);
    const file = await finra([
      '--weeks',
      '2025-12-19',
      '--tiers',
      'NMS_TIER_2',
      '--only-stage',
      'ingest',
      '--source',
      'file',
      '--data-dir',
      FIXTURES,
      '--json',
    ]);
    expect(file.json.config.source).toEqual({ kind: 'file', data_dir: FIXTURES });
    expect(file.json.runs[0].status).toBe('completed');
    const mixed = await finra(['--source', 'api', '--data-dir', FIXTURES, '--json']);
    expect(mixed.code).toBe(64);
    expect(mixed.stderr).toContain('--data-dir');
    const ftp = await finra(['--source', 'ftp', '--json']);
    expect(ftp.code).toBe(64);
    expect(ftp.stderr).toContain("'ftp' is invalid");
  });

  it('--mode: run by default; dry-run enqueues and lands nothing (exit 0); other values are refused', async () => {
    fresh();
    const dry = await finra(['--weeks', '2025-12-19', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.status).toBe('dry_run');
    expect(dry.json.config.mode).toBe('dry-run');
    expect(dry.json.runs).toHaveLength(3 + 3 + 5);
    expect(env.items()).toEqual([]);
    const run = await finra(['--weeks', '2025-12-19', '--data-dir', FIXTURES, '--json']);
    expect(run.json.config.mode).toBe('run');
    expect(run.json.status).toBe('success');
    expect(env.items().every((i) => i.state === 'COMPLETE')).toBe(true);
    const bad = await finra(['--mode', 'maybe', '--json']);
    expect(bad.code).toBe(64);
  });

  it('--force: unchanged files land again, and a lookback over 12 is not clamped', async () => {
    fresh();
    const args = ['--weeks', '2025-12-19', '--tiers', 'NMS_TIER_1', '--only-stage', 'ingest', '--data-dir', FIXTURES, '--json'];
    await finra(args);
    const again = await finra(args);
    expect(again.json.runs[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^unchanged/) });
    const forced = await finra([...args, '--force']);
    expect(forced.json.runs[0].status).toBe('completed');
    expect(forced.json.config.force).toBe(true);
    const long = await sluice(['finra', '--lookback-weeks', '20', '--force', '--as-of', '2025-12-22', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(long.stderr).not.toContain('WARNING: Lookback');
    expect(long.json.config.lookback_weeks).toBe(20);
  });

  it('--only-stage: ingest, normalize and calc each run their stage only; all (default) follows the dependency graph', async () => {
    fresh();
    const base = ['--weeks', '2025-12-19', '--data-dir', FIXTURES, '--json'];
    const stages = async (stage: string) => [
      ...new Set((await finra([...base, '--only-stage', stage])).json.runs.map((r: any) => r.pipeline.split('.').pop())),
    ];
    expect(await stages('ingest')).toEqual(['ingest_week']);
    expect(await stages('normalize')).toEqual(['normalize_week']);
    expect(await stages('calc')).toEqual(['compute_venue_volume', 'compute_venue_share', 'compute_hhi', 'compute_tier_split', 'compute_rolling']);
    const all = await finra(base);
    expect(all.json.config.only_stage).toBe('all');
    expect(all.json.runs.map((r: any) => r.pipeline.split('.').pop())).toEqual([
      ...Array(3).fill('ingest_week'),
      ...Array(3).fill('normalize_week'),
      'compute_venue_volume',
      'compute_venue_share',
      'compute_hhi',
      'compute_tier_split',
      'compute_rolling',
    ]);
    const bad = await finra(['--only-stage', 'load', '--json']);
    expect(bad.code).toBe(64);
  });

  it('--fail-fast: the first failure stops the run (the rest are skipped, not run); without it every partition is tried', async () => {
    fresh();
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-ff-'));
    writeFileSync(path.join(dir, 'tier1_20251219.csv'), (await import('node:fs')).readFileSync(path.join(FIXTURES, 'tier1_20251219.csv')));
    const args = ['--weeks', '2025-12-19', '--only-stage', 'ingest', '--data-dir', dir, '--json'];
    const ff = await finra([...args, '--fail-fast']);
    expect(ff.code).toBe(2);
    expect(runsOf(ff.json)).toEqual([
      'ingest_week 2025-12-19|NMS_TIER_1 completed',
      'ingest_week 2025-12-19|NMS_TIER_2 failed',
      'ingest_week 2025-12-19|OTC skipped',
    ]);
    expect(ff.json.runs[2]).toMatchObject({ not_run: true, reason: expect.stringContaining('--fail-fast') });
    const all = await finra(args);
    expect(runsOf(all.json)).toEqual([
      'ingest_week 2025-12-19|NMS_TIER_1 skipped',
      'ingest_week 2025-12-19|NMS_TIER_2 failed',
      'ingest_week 2025-12-19|OTC failed',
    ]);
  });

  it('--db: the database the run writes (a SQLite path or URL); the config default otherwise', async () => {
    fresh();
    const other = path.join(env.dir, 'other.db');
    const res = await cliInProcess([
      '--config',
      env.configPath,
      'finra',
      '--db',
      `sqlite:${other}`,
      '--weeks',
      '2025-12-19',
      '--tiers',
      'OTC',
      '--only-stage',
      'ingest',
      '--data-dir',
      FIXTURES,
      '--json',
      '--log-level',
      'ERROR',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).config.database).toBe('sqlite');
    expect(countItems(other)).toBe(1);
    expect(existsSync(env.dbPath)).toBe(false);
  });

  it('--json: one JSON document on stdout; without it a table for people', async () => {
    fresh();
    const json = await finra(['--weeks', '2025-12-19', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(json.json.schema_version).toBe('1.0.0');
    const text = await finra(['--weeks', '2025-12-19', '--mode', 'dry-run', '--data-dir', FIXTURES]);
    expect(text.code).toBe(0);
    expect(() => JSON.parse(text.stdout)).toThrow();
    expect(text.stdout).toContain('ingest_week');
  });
});

describe('sluice prices, flag by flag (schedule_prices.py)', () => {
  let market: MarketServer;
  beforeAll(async () => {
    market = await startMarketServer();
    return () => market.close();
  });

  it('--symbols: required (or --symbols-file), any case, comma-separated; a non-ticker is refused', async () => {
    fresh();
    const none = await prices(['--date', '2025-12-19', '--source', 'mock', '--json']);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('--symbols: "" is invalid: must list at least one ticker (or give --symbols-file FILE)');
    const ok = await prices(['--symbols', 'aapl,MSFT', '--date', '2025-12-19', '--source', 'mock', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(runsOf(ok.json)).toEqual(['daily_ohlcv 2025-12-19|AAPL completed', 'daily_ohlcv 2025-12-19|MSFT completed']);
    const bad = await prices(['--symbols', 'AAPL,NOT/A', '--date', '2025-12-19', '--source', 'mock', '--json']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--symbols: "NOT/A" is invalid');
  });

  it('--symbols-file: one symbol per line, # comments; a missing file is refused naming it', async () => {
    fresh();
    const file = path.join(env.dir, 'symbols.txt');
    writeFileSync(file, '# watch list\nnvda\n\nAAPL  # the big one\n');
    const res = await prices(['--symbols-file', file, '--date', '2025-12-19', '--data-dir', PRICE_FIXTURES, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.config.symbols).toEqual(['NVDA', 'AAPL']);
    const missing = await prices(['--symbols-file', path.join(env.dir, 'nope.txt'), '--json']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('--symbols-file');
  });

  it('--source: alpha_vantage and polygon (HTTP on 127.0.0.1), mock (deterministic, built in); default from PRICE_SOURCE', async () => {
    fresh();
    const keys = { ALPHAVANTAGE_API_KEY: AV_KEY, POLYGON_API_KEY: POLYGON_KEY };
    const av = await prices(
      ['--symbols', 'AAPL', '--date', '2025-12-19', '--source', 'alpha_vantage', '--base-url', market.url, '--sleep', '0', '--json'],
      keys,
    );
    expect(av.code, av.stderr).toBe(0);
    expect(av.json.config.source).toMatchObject({ kind: 'alphavantage', base_url: market.url });
    expect(market.fixtures.hits(avPath('AAPL'))).toBeGreaterThan(0);
    const poly = await prices(['--symbols', 'MSFT', '--date', '2025-12-19', '--source', 'polygon', '--base-url', market.url, '--sleep', '0', '--json'], keys);
    expect(poly.json.runs[0].status).toBe('completed');
    expect(market.fixtures.hits(polygonPath('MSFT'))).toBeGreaterThan(0);

    // mock: the same bars in two fresh databases, from nothing but the symbol and date.
    const mock1 = await prices(['--symbols', 'ZZZ', '--from', '2025-12-15', '--to', '2025-12-19', '--source', 'mock', '--json']);
    expect(mock1.code, mock1.stderr).toBe(0);
    const bars1 = await cliInProcess(env.args(['data', 'prices', 'daily_ohlcv', '--where', 'symbol=ZZZ', '--json', '--log-level', 'ERROR']));
    fresh();
    // PRICE_SOURCE gives the default --source, as the guide's table says.
    const mock2 = await prices(['--symbols', 'ZZZ', '--from', '2025-12-15', '--to', '2025-12-19', '--json'], { PRICE_SOURCE: 'mock' });
    expect(mock2.json.config.source).toEqual({ kind: 'mock' });
    const bars2 = await cliInProcess(env.args(['data', 'prices', 'daily_ohlcv', '--where', 'symbol=ZZZ', '--json', '--log-level', 'ERROR']));
    const strip = (text: string) => (JSON.parse(text) as any[]).map(({ capture_id: _c, ...r }) => r);
    expect(strip(bars2.stdout)).toEqual(strip(bars1.stdout));
    expect(strip(bars1.stdout)).toHaveLength(5);
    for (const b of strip(bars1.stdout)) expect(b.low <= Math.min(b.open, b.close) && b.high >= Math.max(b.open, b.close)).toBe(true);

    const badEnv = await prices(['--symbols', 'AAPL', '--date', '2025-12-19', '--json'], { PRICE_SOURCE: 'bloomberg' });
    expect(badEnv.code).toBe(64);
    expect(badEnv.stderr).toContain('PRICE_SOURCE: "bloomberg" is invalid: must be one of');
    const bad = await prices(['--symbols', 'AAPL', '--source', 'yahoo', '--json']);
    expect(bad.code).toBe(64);
  });

  it('--outputsize: compact by default, full asks Alpha Vantage for the whole series', async () => {
    fresh();
    const keys = { ALPHAVANTAGE_API_KEY: AV_KEY };
    const before = market.fixtures.requests.length;
    await prices(['--symbols', 'NVDA', '--date', '2025-12-19', '--source', 'alpha_vantage', '--base-url', market.url, '--sleep', '0', '--json'], keys);
    const full = await prices(
      ['--symbols', 'NVDA', '--date', '2025-12-18', '--source', 'alpha_vantage', '--base-url', market.url, '--outputsize', 'full', '--sleep', '0', '--json'],
      keys,
    );
    expect(full.json.config.source.outputsize).toBe('full');
    const sizes = market.fixtures.requests.slice(before).map((r) => r.query.get('outputsize'));
    expect(sizes).toEqual(['compact', 'full']);
    const bad = await prices(['--symbols', 'NVDA', '--outputsize', 'huge', '--json']);
    expect(bad.code).toBe(64);
  });

  it('--sleep: seconds between API calls, default 12.0; files and mock make no calls and do not wait', async () => {
    fresh();
    const dflt = await prices(['--symbols', 'AAPL', '--date', '2025-12-19', '--source', 'mock', '--json']);
    expect(dflt.json.config).toMatchObject({ sleep: 12, sleep_ms: 12_000 });
    expect(dflt.json.runs[0].status).toBe('completed');
    const before = market.fixtures.requests.length;
    const slept = await prices(
      [
        '--symbols',
        'AAPL,MSFT',
        '--date',
        '2025-12-19',
        '--source',
        'alpha_vantage',
        '--base-url',
        market.url,
        '--rate-limit',
        '6000',
        '--sleep',
        '0.5',
        '--json',
      ],
      {
        ALPHAVANTAGE_API_KEY: AV_KEY,
      },
    );
    expect(slept.code, slept.stderr).toBe(0);
    const at = market.fixtures.requests.slice(before).map((r) => r.at);
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(480);
    const bad = await prices(['--symbols', 'AAPL', '--sleep', '-1', '--json']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--sleep: "-1" is invalid: must be a number of seconds');
  });

  it('--max-symbols: symbols per batch (default 25); every symbol runs, a batch at a time', async () => {
    fresh();
    const many = Array.from({ length: 26 }, (_, i) => `S${String.fromCharCode(65 + (i % 26))}${i}`).join(',');
    const dflt = await prices(['--symbols', many, '--date', '2025-12-19', '--source', 'mock', '--mode', 'dry-run', '--json']);
    expect(dflt.json.config).toMatchObject({ max_symbols: 25, batches: 2 });
    expect(dflt.json.runs).toHaveLength(26);
    const three = await prices(['--symbols', 'AAPL,MSFT,NVDA', '--date', '2025-12-19', '--source', 'mock', '--max-symbols', '1', '--json']);
    expect(three.json.config).toMatchObject({ max_symbols: 1, batches: 3 });
    expect(runsOf(three.json)).toEqual([
      'daily_ohlcv 2025-12-19|AAPL completed',
      'daily_ohlcv 2025-12-19|MSFT completed',
      'daily_ohlcv 2025-12-19|NVDA completed',
    ]);
    const bad = await prices(['--symbols', 'AAPL', '--max-symbols', '0', '--source', 'mock', '--json']);
    expect(bad.code).toBe(64);
  });

  it('--mode: dry-run lands nothing and exits 0', async () => {
    fresh();
    const dry = await prices(['--symbols', 'AAPL', '--date', '2025-12-19', '--source', 'mock', '--mode', 'dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.json).toMatchObject({ status: 'dry_run', config: { mode: 'dry-run' } });
    expect(env.items()).toEqual([]);
    expect((await prices(['--symbols', 'AAPL', '--mode', 'later', '--json'])).code).toBe(64);
  });

  it('--fail-fast: stops at the first failed symbol; without it the rest still run (exit 2)', async () => {
    fresh();
    const args = ['--symbols', 'AAPL,ZZZZ,MSFT', '--date', '2025-12-19', '--data-dir', PRICE_FIXTURES, '--json'];
    const ff = await prices([...args, '--fail-fast']);
    expect(ff.code).toBe(2);
    expect(runsOf(ff.json)).toEqual(['daily_ohlcv 2025-12-19|AAPL completed', 'daily_ohlcv 2025-12-19|ZZZZ failed', 'daily_ohlcv 2025-12-19|MSFT skipped']);
    fresh();
    const all = await prices(args);
    expect(runsOf(all.json)).toEqual(['daily_ohlcv 2025-12-19|AAPL completed', 'daily_ohlcv 2025-12-19|ZZZZ failed', 'daily_ohlcv 2025-12-19|MSFT completed']);
  });

  it('--db: the database the run writes', async () => {
    fresh();
    const other = path.join(env.dir, 'prices.db');
    const res = await cliInProcess([
      '--config',
      env.configPath,
      'prices',
      '--db',
      other.replace(/^/, 'sqlite:'),
      '--symbols',
      'AAPL',
      '--date',
      '2025-12-19',
      '--source',
      'mock',
      '--json',
      '--log-level',
      'ERROR',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(countItems(other)).toBe(1);
    expect(existsSync(env.dbPath)).toBe(false);
  });

  it('--json: one JSON document on stdout; without it a table', async () => {
    fresh();
    const json = await prices(['--symbols', 'AAPL', '--date', '2025-12-19', '--source', 'mock', '--json']);
    expect(json.json).toMatchObject({ schema_version: '1.0.0', scheduler: 'daily_prices' });
    const text = await prices(['--symbols', 'AAPL', '--date', '2025-12-19', '--source', 'mock']);
    expect(() => JSON.parse(text.stdout)).toThrow();
    expect(text.stdout).toContain('daily_ohlcv');
  });
});

describe('what only a process shows: --log-level and DATABASE_URL', () => {
  it('finra --log-level: INFO by default, DEBUG/INFO/WARNING/ERROR as the guide spells them; ERROR hides the WARNING line', async () => {
    fresh();
    const base = [
      '--config',
      env.configPath,
      '--db',
      env.dbUrl,
      'finra',
      '--lookback-weeks',
      '20',
      '--as-of',
      '2025-12-22',
      '--tiers',
      'OTC',
      '--only-stage',
      'ingest',
      '--data-dir',
      FIXTURES,
      '--json',
      '--force',
    ];
    const dflt = await runSluice(base, { cwd: env.dir });
    expect(dflt.code, dflt.stderr).not.toBe(64);
    const levels = (stderr: string) => new Set(logLines(stderr).map((l) => l.level));
    expect(levels(dflt.stderr)).toContain(30);
    expect(levels(dflt.stderr)).not.toContain(20);
    const debug = await runSluice([...base, '--log-level', 'DEBUG'], { cwd: env.dir });
    expect(levels(debug.stderr)).toContain(20);
    const clamp = [
      '--config',
      env.configPath,
      '--db',
      env.dbUrl,
      'finra',
      '--lookback-weeks',
      '20',
      '--as-of',
      '2025-12-22',
      '--mode',
      'dry-run',
      '--data-dir',
      FIXTURES,
      '--json',
    ];
    const warning = await runSluice([...clamp, '--log-level', 'WARNING'], { cwd: env.dir });
    expect(warning.stderr).toContain('WARNING: Lookback 20 exceeds max 12, clamped. Use --force to override.');
    const error = await runSluice([...clamp, '--log-level', 'ERROR'], { cwd: env.dir });
    expect(error.stderr).not.toContain('WARNING: Lookback');
    expect(JSON.parse(error.stdout).config.lookback_weeks).toBe(12);
    const bad = await runSluice([...clamp, '--log-level', 'LOUD'], { cwd: env.dir });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--log-level: "LOUD" is invalid: must be one of DEBUG, INFO, WARNING, ERROR');
  }, 240_000);

  it('prices --log-level and DATABASE_URL (a path or URL) with PRICE_SOURCE, as a CronJob sets them', async () => {
    fresh();
    const url = path.join(env.dir, 'market_spine.db');
    const args = ['--config', env.configPath, 'prices', '--symbols', 'AAPL', '--date', '2025-12-19', '--json'];
    const res = await runSluice([...args, '--log-level', 'WARNING'], { cwd: env.dir, env: { DATABASE_URL: url, PRICE_SOURCE: 'mock' } });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).config.source).toEqual({ kind: 'mock' });
    expect(logLines(res.stderr).filter((l) => Number(l.level) < 40)).toEqual([]);
    expect(countItems(url)).toBe(1);
    expect(existsSync(env.dbPath)).toBe(false);
    // A postgres-style URL with another scheme is refused naming the variable.
    const bad = await runSluice(args, { cwd: env.dir, env: { DATABASE_URL: 'mysql://db/x', PRICE_SOURCE: 'mock' } });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('DATABASE_URL: "mysql://db/x" is invalid');
    const info = await runSluice([...args, '--db', env.dbUrl], { cwd: env.dir, env: { PRICE_SOURCE: 'mock' } });
    expect(new Set(logLines(info.stderr).map((l) => l.level))).toContain(30);
  }, 240_000);
});

describeIfPg('DATABASE_URL naming PostgreSQL', () => {
  it("postgresql:// (the guide's Compose form) opens that database; --db still wins", async () => {
    fresh();
    const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
    const url = `${PG_URL.replace(/^postgres:/, 'postgresql:')}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    try {
      const res = await cliInProcess(
        ['--config', env.configPath, 'prices', '--symbols', 'AAPL,MSFT', '--date', '2025-12-19', '--json', '--log-level', 'ERROR'],
        { DATABASE_URL: url, PRICE_SOURCE: 'mock' },
      );
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).config.database).toBe('postgres');
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}".work_items`)).rows[0].n).toBe(2);
      } finally {
        await client.end();
      }
      expect(existsSync(env.dbPath)).toBe(false);
      const local = await cliInProcess(
        ['--config', env.configPath, 'prices', '--db', env.dbUrl, '--symbols', 'AAPL', '--date', '2025-12-19', '--json', '--log-level', 'ERROR'],
        { DATABASE_URL: url, PRICE_SOURCE: 'mock' },
      );
      expect(JSON.parse(local.stdout).config.database).toBe('sqlite');
    } finally {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
    }
  }, 120_000);
});

function countItems(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM work_items').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
