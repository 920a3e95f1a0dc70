import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliInProcess } from '../helpers/in-process-cli.js';
import { TEST_ACCESS, TestEnv } from '../helpers/sqlite.js';
import { FRED_FIXTURES, FRED_KEY, fredPath, startMarketServer, type MarketServer } from '../domains/prices/support.js';

/**
 * prices -> FRED -> matrix from a fresh database with the batch commands alone (no demo, no
 * worker): `sluice prices --source mock`, `sluice fred` over HTTP (a FRED stand-in on
 * 127.0.0.1) or files, then `sluice matrix`, which is blocked until its inputs have landed.
 */
let env: TestEnv | undefined;
let market: MarketServer | undefined;
afterEach(async () => {
  env?.cleanup();
  await market?.close();
  market = undefined;
});

const SYMBOLS = { SLUICE_FEATURES_SYMBOLS: 'AAPL,MSFT', FRED_API_KEY: FRED_KEY };

async function sluice(args: string[]) {
  const res = await cliInProcess(env!.args([...args, '--log-level', 'ERROR']), SYMBOLS);
  return { ...res, json: res.stdout.startsWith('{') ? (JSON.parse(res.stdout) as any) : null };
}

describe('the batch commands alone build the feature matrix', () => {
  it('matrix is blocked, then prices (mock) and fred (api) land, then the matrix runs and exports', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    market = await startMarketServer();
    const out = path.join(env.dir, 'exports');

    const early = await sluice(['matrix', '--date', '2025-12-19', '--export-dir', out, '--json']);
    expect(early.code, early.stderr).toBe(1);
    expect(early.json.runs[0]).toMatchObject({ pipeline: 'features.daily_matrix', partition_key: '2025-12-19', blocked: true });

    const prices = await sluice(['prices', '--symbols', 'AAPL,MSFT', '--date', '2025-12-19', '--source', 'mock', '--json']);
    expect(prices.code, prices.stderr).toBe(0);

    const fred = await sluice(['fred', '--date', '2025-12-19', '--source', 'api', '--base-url', market.url, '--json']);
    expect(fred.code, fred.stderr).toBe(0);
    expect(fred.json).toMatchObject({
      domain: 'fred',
      scheduler: 'fred_buckets',
      status: 'success',
      config: { buckets: ['fx', 'rates_curve', 'financial_conditions'], source: { kind: 'http', base_url: market.url } },
    });
    expect(fred.json.runs.map((r: any) => r.partition_key)).toEqual(['2025-12-19|fx', '2025-12-19|rates_curve', '2025-12-19|financial_conditions']);
    expect(market.fixtures.hits(fredPath('DGS10'))).toBe(1);
    expect(market.fixtures.requests.find((r) => r.path === fredPath('DGS10'))!.query.get('api_key')).toBe(FRED_KEY);

    const matrix = await sluice(['matrix', '--date', '2025-12-19', '--export-dir', out, '--json']);
    expect(matrix.code, matrix.stderr).toBe(0);
    expect(matrix.json.runs[0]).toMatchObject({ status: 'completed', row_count: 2 });
    expect(existsSync(path.join(out, 'daily_matrix_2025-12-19.parquet'))).toBe(true);
    expect(existsSync(path.join(out, 'daily_matrix_2025-12-19.csv'))).toBe(true);

    // Again: nothing changed, skipped; --force lands it again.
    expect((await sluice(['matrix', '--date', '2025-12-19', '--export-dir', out, '--json'])).json.runs[0].status).toBe('skipped');
    expect((await sluice(['matrix', '--date', '2025-12-19', '--export-dir', out, '--force', '--json'])).json.runs[0].status).toBe('completed');
  }, 120_000);

  it('sluice fred flags: --buckets, --source file with --data-dir, --mode dry-run; bad values are refused naming the flag', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const dry = await sluice([
      'fred',
      '--from',
      '2025-12-18',
      '--to',
      '2025-12-19',
      '--buckets',
      'fx',
      '--data-dir',
      FRED_FIXTURES,
      '--mode',
      'dry-run',
      '--json',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.runs.map((r: any) => `${r.partition_key} ${r.status}`)).toEqual(['2025-12-18|fx dry_run', '2025-12-19|fx dry_run']);
    expect(env.items()).toEqual([]);
    const file = await sluice(['fred', '--date', '2025-12-19', '--buckets', 'rates_curve', '--source', 'file', '--data-dir', FRED_FIXTURES, '--json']);
    expect(file.code, file.stderr).toBe(0);
    expect(file.json.runs[0]).toMatchObject({ partition_key: '2025-12-19|rates_curve', status: 'completed' });
    expect(
      (await sluice(['fred', '--date', '2025-12-19', '--buckets', 'rates_curve', '--source', 'file', '--data-dir', FRED_FIXTURES, '--json'])).json.runs[0]
        .status,
    ).toBe('skipped');
    const bucket = await sluice(['fred', '--buckets', 'equities', '--json']);
    expect(bucket.code).toBe(64);
    expect(bucket.stderr).toContain('--buckets: "equities" is invalid: must be one of fx, rates_curve, financial_conditions');
    const mixed = await sluice(['fred', '--source', 'api', '--data-dir', FRED_FIXTURES, '--json']);
    expect(mixed.code).toBe(64);
    expect(mixed.stderr).toContain('--data-dir');
    const outside = await sluice(['fred', '--date', '2025-12-19', '--data-dir', '/etc', '--json']);
    expect(outside.code).toBe(64);
    expect(outside.stderr).toContain('--data-dir');
  }, 120_000);
});
