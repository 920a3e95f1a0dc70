import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceApp } from '../../../src/app/create-app.js';
import { configuredSymbols, dailyMatrix, FEATURES_DOMAIN, latestAtOrBefore } from '../../../src/domains/features/index.js';
import { enqueueWork } from '../../../src/engine/enqueue.js';
import { runInline } from '../../../src/engine/run-inline.js';
import type { TestEnv } from '../../helpers/sqlite.js';
import { FRED_FIXTURES, PRICE_FIXTURES, SYMBOLS, dataOnly, openApp } from '../prices/support.js';

/**
 * features.daily_matrix through the queue: it waits (WAITING) for the prices of every
 * configured symbol and every FRED bucket of its date, turns PENDING in the transaction that
 * completes the last input, and only then runs. Real Worker + drain, real SQLite file, real
 * Parquet and CSV files read back with hyparquet.
 */
let opened: { env: TestEnv; app: SluiceApp } | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await opened?.app.close();
  opened?.env.cleanup();
  opened = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DATE = '2025-12-19';
const KEY = `date=${DATE}`;
const PRICE_SOURCE = { source: 'file', data_dir: PRICE_FIXTURES };
const FRED_SOURCE = { source: 'file', data_dir: FRED_FIXTURES };

function fixtureValue(series: string, date: string): number | null {
  const doc = JSON.parse(readFileSync(path.join(FRED_FIXTURES, `${series}.json`), 'utf8')) as { observations: { date: string; value: string }[] };
  const o = doc.observations.find((x) => x.date === date);
  if (!o) throw new Error(`${series} has no observation on ${date}`);
  return o.value === '.' ? null : Number(o.value);
}

async function stateOf(a: SluiceApp, domain: string, pipeline: string, key: string): Promise<string | undefined> {
  return (await a.store.findItem(domain, pipeline, key))?.state;
}

describe('features.daily_matrix', () => {
  it('stays WAITING until the last input lands, then PENDING, then runs; Parquet and CSV read back', async () => {
    opened = await openApp();
    const a = opened.app;
    const exportDir = mkdtempSync(path.join(tmpdir(), 'sluice-features-'));
    dirs.push(exportDir);
    expect(configuredSymbols({ config: a.config, env: {} })).toEqual([...SYMBOLS]);

    // The matrix first: nothing it needs is even enqueued.
    const [matrix] = await enqueueWork(a.store, a.registry, [
      { pipeline: 'features.daily_matrix', partition: { date: DATE }, params: { export_dir: exportDir } },
    ]);
    expect(matrix!.item.state).toBe('WAITING');
    const deps = await a.store.listDependencies(matrix!.item.id);
    expect(deps.map((d) => `${d.domain}.${d.pipeline} [${d.partitionKey}] ${d.state}`).sort()).toEqual([
      `fred.ingest_bucket [bucket=financial_conditions|date=${DATE}] null`,
      `fred.ingest_bucket [bucket=fx|date=${DATE}] null`,
      `fred.ingest_bucket [bucket=rates_curve|date=${DATE}] null`,
      `prices.daily_ohlcv [date=${DATE}|symbol=AAPL] null`,
      `prices.daily_ohlcv [date=${DATE}|symbol=MSFT] null`,
      `prices.daily_ohlcv [date=${DATE}|symbol=NVDA] null`,
    ]);

    // Every price and two of the three buckets: the matrix still waits.
    await enqueueWork(a.store, a.registry, [
      ...SYMBOLS.map((symbol) => ({ pipeline: 'prices.daily_ohlcv', partition: { date: DATE, symbol }, params: PRICE_SOURCE })),
      { pipeline: 'fred.ingest_bucket', partition: { date: DATE, bucket: 'fx' }, params: FRED_SOURCE },
      { pipeline: 'fred.ingest_bucket', partition: { date: DATE, bucket: 'rates_curve' }, params: FRED_SOURCE },
    ]);
    const first = await a.createWorker({ concurrency: 3, pollMs: 50 }).drain();
    expect(first.failed).toBe(0);
    for (const symbol of SYMBOLS) expect(await stateOf(a, 'prices', 'daily_ohlcv', `date=${DATE}|symbol=${symbol}`)).toBe('COMPLETE');
    expect(await stateOf(a, 'fred', 'ingest_bucket', `bucket=fx|date=${DATE}`)).toBe('COMPLETE');
    expect(await stateOf(a, 'fred', 'ingest_bucket', `bucket=rates_curve|date=${DATE}`)).toBe('COMPLETE');
    expect(await stateOf(a, FEATURES_DOMAIN, 'daily_matrix', KEY)).toBe('WAITING');
    expect(await a.store.listAttempts(matrix!.item.id)).toEqual([]);
    expect(await a.data.latest(dailyMatrix)).toEqual([]);
    expect(existsSync(path.join(exportDir, `daily_matrix_${DATE}.parquet`))).toBe(false);

    // The last bucket completes: in that same transaction the matrix becomes PENDING.
    const last = await runInline(a, { pipeline: 'fred.ingest_bucket', partitions: [{ date: DATE, bucket: 'financial_conditions' }], params: FRED_SOURCE });
    expect(last.status).toBe('success');
    expect(await stateOf(a, FEATURES_DOMAIN, 'daily_matrix', KEY)).toBe('PENDING');
    const lastItem = (await a.store.findItem('fred', 'ingest_bucket', `bucket=financial_conditions|date=${DATE}`))!;

    const second = await a.createWorker({ concurrency: 2, pollMs: 50 }).drain();
    expect(second.failed).toBe(0);
    expect(await stateOf(a, FEATURES_DOMAIN, 'daily_matrix', KEY)).toBe('COMPLETE');
    const [attempt] = await a.store.listAttempts(matrix!.item.id);
    expect(attempt!.status).toBe('succeeded');
    expect(attempt!.startedAt.getTime()).toBeGreaterThanOrEqual(lastItem.finishedAt!.getTime());

    // The matrix: prices of the session, each FRED series' latest value at or before it.
    const rows = dataOnly(await a.data.latest(dailyMatrix));
    expect(rows.map((r) => r.symbol)).toEqual([...SYMBOLS]);
    const aapl = rows[0]!;
    // AAPL.csv: 2025-12-18 close 280.20, 2025-12-19 close 283.81 -> +3.61 = +1.288365%.
    expect(aapl).toMatchObject({ symbol: 'AAPL', date: DATE, close: 283.81, change_pct: 1.288365 });
    expect(aapl).toMatchObject({ dgs10: fixtureValue('DGS10', DATE), dgs10_date: DATE, nfci: fixtureValue('NFCI', DATE), nfci_date: DATE });
    // DEXJPUS is "." on 2025-12-19: the value of 2025-12-18 is the latest at or before the date.
    expect(fixtureValue('DEXJPUS', DATE)).toBeNull();
    expect(aapl).toMatchObject({ dexjpus: fixtureValue('DEXJPUS', '2025-12-18'), dexjpus_date: '2025-12-18' });
    // Observations after the date (the fixtures run to 2025-12-23) are not used.
    expect(rows.every((r) => r.dgs30_date === DATE && r.bamlh0a0hym2_date === DATE && r.dexuseu_date === DATE)).toBe(true);

    // Parquet, read back with hyparquet: the same rows.
    const parquetFile = path.join(exportDir, `daily_matrix_${DATE}.parquet`);
    const fromParquet = (await parquetReadObjects({ file: await asyncBufferFromFile(parquetFile) })) as Record<string, unknown>[];
    expect(fromParquet).toHaveLength(3);
    expect(Object.keys(fromParquet[0]!)).toEqual(dailyMatrix.columns.map((c) => c.name));
    expect(dataOnly(fromParquet as never)).toEqual(rows);

    // CSV: header = the dataset's columns, one line per row, nulls empty.
    const csv = readFileSync(path.join(exportDir, `daily_matrix_${DATE}.csv`), 'utf8')
      .trimEnd()
      .split('\n');
    expect(csv[0]!.split(',')).toEqual(dailyMatrix.columns.map((c) => c.name));
    expect(csv).toHaveLength(4);
    const header = csv[0]!.split(',');
    const fromCsv = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i]!, v])));
    for (const [i, row] of rows.entries()) {
      for (const [k, v] of Object.entries(row)) expect(fromCsv[i]![k], `${String(row.symbol)}.${k}`).toBe(v === null ? '' : String(v));
    }

    // The same inputs again: unchanged, nothing re-landed.
    const again = await runInline(a, { pipeline: 'features.daily_matrix', partitions: [{ date: DATE }], force: true });
    expect(again.runs[0]).toMatchObject({ status: 'skipped' });
  });

  it('inputs do not enqueue the matrix; a matrix whose inputs never come stays WAITING without holding up a drain', async () => {
    opened = await openApp();
    const a = opened.app;
    await enqueueWork(a.store, a.registry, [{ pipeline: 'fred.ingest_bucket', partition: { date: '2025-12-22', bucket: 'fx' }, params: FRED_SOURCE }]);
    expect(await a.store.findItem(FEATURES_DOMAIN, 'daily_matrix', 'date=2025-12-22')).toBeNull();
    const [matrix] = await enqueueWork(a.store, a.registry, [{ pipeline: 'features.daily_matrix', partition: { date: '2025-12-22' } }]);
    expect(matrix!.item.state).toBe('WAITING');
    // One input runs; the other five were never enqueued: drain ends, the matrix keeps waiting.
    expect((await a.createWorker({ concurrency: 2, pollMs: 50 }).drain()).failed).toBe(0);
    expect(await stateOf(a, FEATURES_DOMAIN, 'daily_matrix', 'date=2025-12-22')).toBe('WAITING');
    const deps = await a.store.listDependencies(matrix!.item.id);
    expect(deps.filter((d) => d.state === 'COMPLETE').map((d) => d.partitionKey)).toEqual(['bucket=fx|date=2025-12-22']);
    expect(deps.filter((d) => d.state === null)).toHaveLength(5);
    await expect(enqueueWork(a.store, a.registry, [{ pipeline: 'features.daily_matrix', partition: { date: '2025-12-21' } }])).rejects.toThrow(
      /2025-12-21 is closed: weekend/,
    );
  });

  it('symbols come from $SLUICE_FEATURES_SYMBOLS, else the prices schedules, else the demo set; latest value skips "."', () => {
    expect(configuredSymbols({ env: { SLUICE_FEATURES_SYMBOLS: 'spy, qqq' } })).toEqual(['SPY', 'QQQ']);
    const config = {
      schedules: [{ name: 'p', pipeline: 'prices.daily_ohlcv', calendar: 'XNYS', at: 'close+15m', partitions: { symbols: ['IBM', 'ORCL'] } }],
    } as never;
    expect(configuredSymbols({ env: {}, config })).toEqual(['IBM', 'ORCL']);
    expect(configuredSymbols({ env: {} })).toEqual(['AAPL', 'MSFT', 'NVDA']);
    expect(
      latestAtOrBefore(
        [
          { date: '2025-12-17', value: 1 },
          { date: '2025-12-18', value: null },
          { date: '2025-12-22', value: 3 },
        ],
        '2025-12-19',
      ),
    ).toEqual({ date: '2025-12-17', value: 1 });
  });
});
