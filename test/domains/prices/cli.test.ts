import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, parseJsonOutput } from '../../helpers/process.js';
import { TEST_ACCESS, TestEnv } from '../../helpers/sqlite.js';
import { AV_KEY, PRICE_FIXTURES, avPath, startMarketServer, type MarketServer } from './support.js';

/** `sluice prices` and `sluice data prices …` as scripts call them: real child processes. */
let env: TestEnv | undefined;
let server: MarketServer | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
  await server?.close();
  server = undefined;
});

interface RunResultJson {
  schema_version: string;
  domain: string;
  scheduler: string;
  started_at: string;
  finished_at: string;
  status: string;
  stats: { attempted: number; succeeded: number; failed: number; skipped: number };
  runs: {
    pipeline: string;
    partition_key: string;
    status: string;
    duration_ms: number;
    capture_id: string | null;
    row_count: number | null;
    is_revision: boolean;
    revision_summary: unknown;
    error: string | null;
  }[];
  anomalies: unknown[];
  warnings: string[];
  config: Record<string, unknown>;
}

const TOP_KEYS = ['schema_version', 'domain', 'scheduler', 'started_at', 'finished_at', 'status', 'stats', 'runs', 'anomalies', 'warnings', 'config'];
const RUN_KEYS = ['pipeline', 'partition_key', 'status', 'duration_ms', 'capture_id', 'row_count', 'is_revision', 'revision_summary'];

function expectContract(r: RunResultJson): void {
  for (const k of TOP_KEYS) expect(r).toHaveProperty(k);
  expect(r.schema_version).toBe('1.0.0');
  expect(r.domain).toBe('prices');
  expect(Number.isNaN(Date.parse(r.started_at))).toBe(false);
  for (const run of r.runs) for (const k of RUN_KEYS) expect(run).toHaveProperty(k);
}

describe('sluice prices (child processes)', () => {
  it('--json prints a valid run result and exits 0; --symbols-file and --max-symbols; sluice data reads the rows', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const list = path.join(env.dir, 'symbols.txt');
    writeFileSync(list, '# demo symbols\nmsft\nNVDA, AAPL\n');
    const res = await env.cli([
      'prices',
      '--symbols',
      'AAPL',
      '--symbols-file',
      list,
      '--max-symbols',
      '2',
      '--from',
      '2025-12-15',
      '--to',
      '2025-12-19',
      '--data-dir',
      PRICE_FIXTURES,
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const result = parseJsonOutput<RunResultJson>(res);
    expectContract(result);
    expect(result.status).toBe('success');
    // --max-symbols is the batch size (the guide's "maximum symbols per batch"): every symbol runs.
    expect(result.stats).toEqual({ attempted: 15, succeeded: 15, failed: 0, skipped: 0 });
    expect(result.warnings).toEqual(['3 symbols in 2 batches of at most 2 (--max-symbols)']);
    expect(result.config).toMatchObject({
      symbols: ['AAPL', 'MSFT', 'NVDA'],
      max_symbols: 2,
      batches: 2,
      dates: ['2025-12-15', '2025-12-16', '2025-12-17', '2025-12-18', '2025-12-19'],
      source: { kind: 'file', data_dir: PRICE_FIXTURES },
      mode: 'run',
    });
    expect(result.runs.every((r) => r.pipeline === 'prices.daily_ohlcv' && r.row_count === 1 && r.capture_id !== null)).toBe(true);

    const data = await env.cli(['data', 'prices', 'daily_ohlcv', '--where', 'symbol=AAPL', '--where', 'date=2025-12-16', '--json']);
    expect(data.code, data.stderr).toBe(0);
    expect(parseJsonOutput<unknown[]>(data)).toEqual([
      expect.objectContaining({ symbol: 'AAPL', date: '2025-12-16', close: 279.13, prev_close: 275.02, change: 4.11, change_pct: 1.494437 }),
    ]);

    // Again: every bar unchanged, skipped; still exit 0.
    const again = parseJsonOutput<RunResultJson>(
      await env.cliOk(['prices', '--symbols', 'AAPL,MSFT', '--from', '2025-12-15', '--to', '2025-12-19', '--data-dir', PRICE_FIXTURES, '--json']),
    );
    expect(again.stats).toEqual({ attempted: 0, succeeded: 0, failed: 0, skipped: 10 });
  });

  it('exits 2 with a partial run result when one symbol fails', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const res = await env.cli(['prices', '--symbols', 'AAPL,ZZZZ', '--date', '2025-12-19', '--data-dir', PRICE_FIXTURES, '--json']);
    expect(res.code, res.stderr).toBe(2);
    const result = parseJsonOutput<RunResultJson>(res);
    expectContract(result);
    expect(result.status).toBe('partial');
    expect(result.stats).toMatchObject({ succeeded: 1, failed: 1 });
    const failed = result.runs.find((r) => r.status === 'failed')!;
    expect(failed.partition_key).toBe('2025-12-19|ZZZZ');
    expect(failed.error).toBe(`file not found: any of ${path.join(PRICE_FIXTURES, 'ZZZZ.csv')}, ${path.join(PRICE_FIXTURES, 'zzzz.csv')}`);
  });

  it('--sleep (seconds) pauses between vendor calls; the API key reaches the vendor but not the output', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    server = await startMarketServer();
    const res = await env.cli(
      [
        'prices',
        '--symbols',
        'AAPL,MSFT',
        '--date',
        '2025-12-19',
        '--source',
        'alphavantage',
        '--base-url',
        server.url,
        '--rate-limit',
        '6000',
        '--sleep',
        '0.4',
        '--json',
      ],
      {
        env: { ALPHAVANTAGE_API_KEY: AV_KEY },
      },
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain(AV_KEY);
    expect(server.fixtures.requests.find((r) => r.path === avPath('AAPL'))!.query.get('apikey')).toBe(AV_KEY);
    const [a] = server.fixtures.times(avPath('AAPL'));
    const [m] = server.fixtures.times(avPath('MSFT'));
    expect(m! - a!).toBeGreaterThanOrEqual(380);
  });

  it('bad flags exit 64 (EX_USAGE) naming the flag; --mode dry-run exits 0 and runs nothing', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const holiday = await env.cli(['prices', '--symbols', 'AAPL', '--date', '2025-12-25', '--data-dir', PRICE_FIXTURES, '--json']);
    expect(holiday.code).toBe(64);
    expect(holiday.stdout).toBe('');
    expect(holiday.stderr).toContain('--date: "2025-12-25" is invalid: must be an XNYS session (2025-12-25 is closed: Christmas Day)');
    const ticker = await env.cli(['prices', '--symbols', 'AAPL,BAD TICKER!', '--date', '2025-12-19', '--data-dir', PRICE_FIXTURES]);
    expect(ticker.code).toBe(64);
    expect(ticker.stderr).toContain('--symbols: "TICKER!" is invalid');
    const noSource = await env.cli(['prices', '--symbols', 'AAPL', '--date', '2025-12-19', '--json']);
    expect(noSource.code).toBe(64);
    expect(noSource.stderr).toContain('no prices source configured');
    const both = await env.cli([
      'prices',
      '--symbols',
      'AAPL',
      '--date',
      '2025-12-19',
      '--from',
      '2025-12-15',
      '--to',
      '2025-12-19',
      '--data-dir',
      PRICE_FIXTURES,
    ]);
    expect(both.code).toBe(64);
    expect(both.stderr).toContain('--date: "2025-12-19" is invalid: must not be combined with --from/--to');

    const dry = await env.cli(['prices', '--symbols', 'AAPL,MSFT', '--from', '2025-12-19', '--to', '2025-12-22', '--mode', 'dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const result = parseJsonOutput<RunResultJson>(dry);
    expect(result.status).toBe('dry_run');
    // 2025-12-20/21 are a weekend: two sessions × two symbols.
    expect(result.runs.map((r) => [r.partition_key, r.status])).toEqual([
      ['2025-12-19|AAPL', 'dry_run'],
      ['2025-12-22|AAPL', 'dry_run'],
      ['2025-12-19|MSFT', 'dry_run'],
      ['2025-12-22|MSFT', 'dry_run'],
    ]);
  });
});
