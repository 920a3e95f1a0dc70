import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceApp } from '../../../src/app/create-app.js';
import { FRED_DOMAIN, observations, parseFredObservations } from '../../../src/domains/fred/index.js';
import { enqueueWork } from '../../../src/engine/enqueue.js';
import { runInline } from '../../../src/engine/run-inline.js';
import type { TestEnv } from '../../helpers/sqlite.js';
import { FRED_FIXTURES, FRED_KEY, fredPath, openApp, startMarketServer, withKeys, type MarketServer } from '../prices/support.js';

/**
 * fred.ingest_bucket: one bucket of series as of one session, landed into the one
 * fred.observations table. Real SQLite files, files and a real HTTP server.
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

const PIPELINE = 'fred.ingest_bucket';
const rowsOf = (rows: Record<string, unknown>[]) =>
  rows
    .map(({ capture_id: _c, partition_key: _p, ...r }) => r)
    .sort((a, b) => `${String(a.series_id)}|${String(a.date)}`.localeCompare(`${String(b.series_id)}|${String(b.date)}`));

describe('fred.ingest_bucket', () => {
  it('"." is a missing value: parsed as null, landed as a null row, never a parse error', () => {
    const obs = parseFredObservations(
      JSON.stringify({
        observations: [
          { date: '2026-01-02', value: '4.33' },
          { date: '2025-12-31', value: '.' },
        ],
      }),
      'mem://DGS10',
    );
    expect(obs).toEqual([
      { date: '2025-12-31', value: null },
      { date: '2026-01-02', value: 4.33 },
    ]);
    expect(() => parseFredObservations(JSON.stringify({ observations: [{ date: '2026-01-02', value: 'N/A' }] }), 'mem://DGS10')).toThrow(
      'mem://DGS10: observations[0].value: "N/A" is neither a number nor "." (FRED\'s missing value)',
    );
  });

  it('files: a bucket lands every series of the months it touches into one table; "." rows are value null; unchanged re-runs skip', async () => {
    const a = await setup();
    // 2025-12-05 with a 14-day lookback touches November and December.
    const result = await runInline(a, {
      pipeline: PIPELINE,
      partitions: [{ date: '2025-12-05', bucket: 'rates_curve' }],
      params: { source: 'file', data_dir: FRED_FIXTURES },
    });
    expect(result.status, JSON.stringify(result.runs)).toBe('success');
    const rows = await a.data.latest(observations);
    expect(new Set(rows.map((r) => r.series_id))).toEqual(new Set(['DGS3MO', 'DGS2', 'DGS10', 'DGS30']));
    // November (20 weekdays) and December to the 23rd (17 weekdays) of each series.
    expect(rows.filter((r) => r.series_id === 'DGS10')).toHaveLength(37);
    expect(rows.find((r) => r.series_id === 'DGS10' && r.date === '2025-11-27')).toMatchObject({ value: null, bucket: 'rates_curve' });
    expect(rows.find((r) => r.series_id === 'DGS3MO' && r.date === '2025-11-11')).toMatchObject({ value: null });
    expect(rows.filter((r) => r.value === null)).toHaveLength(5); // Thanksgiving × 4 + Veterans Day DGS3MO
    expect(rows.find((r) => r.series_id === 'DGS10' && r.date === '2025-12-05')!.value).toEqual(expect.any(Number));
    expect(result.runs[0]!.row_count).toBe(4 * 37);
    // One capture per series and month.
    const captures = await a.data.listCaptures({ domain: FRED_DOMAIN });
    expect(captures.map((c) => c.partition_key).sort()).toEqual(
      ['DGS10', 'DGS2', 'DGS30', 'DGS3MO'].flatMap((s) => [`month=2025-11|series_id=${s}`, `month=2025-12|series_id=${s}`]).sort(),
    );

    // A later date re-reads December: same content, nothing new lands, the rows are unique per (series_id, date).
    const later = await runInline(a, {
      pipeline: PIPELINE,
      partitions: [{ date: '2025-12-19', bucket: 'rates_curve' }],
      params: { source: 'file', data_dir: FRED_FIXTURES },
    });
    expect(later.runs[0]).toMatchObject({ status: 'skipped' });
    expect(await a.data.listCaptures({ domain: FRED_DOMAIN })).toHaveLength(8);
    const after = await a.data.latest(observations);
    expect(after).toHaveLength(rows.length);
    expect(new Set(after.map((r) => `${String(r.series_id)}|${String(r.date)}`)).size).toBe(after.length);
  });

  it('HTTP: FRED_API_KEY goes in the query and never into captures or results; rows equal the file source', async () => {
    server = await startMarketServer();
    restoreKeys = withKeys({ FRED_API_KEY: FRED_KEY });
    const viaHttp = await setup();
    const viaFile = await setup();
    const partitions = [
      { date: '2025-12-19', bucket: 'fx' },
      { date: '2025-12-19', bucket: 'financial_conditions' },
    ];
    const http = await runInline(viaHttp, { pipeline: PIPELINE, partitions, params: { source: 'http', base_url: server.url } });
    const file = await runInline(viaFile, { pipeline: PIPELINE, partitions, params: { source: 'file', data_dir: FRED_FIXTURES } });
    expect(http.status, JSON.stringify(http.runs)).toBe('success');
    expect(file.status).toBe('success');
    expect(rowsOf(await viaHttp.data.latest(observations))).toEqual(rowsOf(await viaFile.data.latest(observations)));
    // DEXJPUS has "." on 2025-12-19.
    expect((await viaHttp.data.latest(observations, { where: { series_id: 'DEXJPUS', date: '2025-12-19' } }))[0]!.value).toBeNull();

    const req = server.fixtures.requests.find((r) => r.path === fredPath('DEXUSEU'))!;
    expect(Object.fromEntries(req.query)).toEqual({
      series_id: 'DEXUSEU',
      file_type: 'json',
      observation_start: '2025-12-01',
      observation_end: '2025-12-31',
      api_key: FRED_KEY,
    });
    for (const c of await viaHttp.data.listCaptures({ domain: FRED_DOMAIN })) {
      expect(c.source).toContain('api_key=***');
      expect(c.source).not.toContain(FRED_KEY);
    }
    expect(JSON.stringify(http)).not.toContain(FRED_KEY);
  });

  it('an HTML page with status 200 fails the attempt naming the URL (retried later), and nothing lands; a missing key fails permanently', async () => {
    server = await startMarketServer();
    restoreKeys = withKeys({ FRED_API_KEY: FRED_KEY });
    const a = await setup();
    server.fixtures.behave(fredPath('NFCI'), { kind: 'html' });
    const result = await runInline(a, {
      pipeline: PIPELINE,
      partitions: [{ date: '2025-12-19', bucket: 'financial_conditions' }],
      params: { source: 'http', base_url: server.url },
    });
    expect(result.status).toBe('failure');
    expect(result.runs[0]!.error).toContain(
      `GET ${server.url}/fred/series/observations?series_id=NFCI&file_type=json&observation_start=2025-12-01&observation_end=2025-12-31&api_key=*** returned an HTML page`,
    );
    expect((await a.store.findItem(FRED_DOMAIN, 'ingest_bucket', 'bucket=financial_conditions|date=2025-12-19'))!.state).toBe('RETRY_WAIT');
    expect(await a.data.latest(observations)).toEqual([]);

    const restore = withKeys({ FRED_API_KEY: undefined });
    try {
      const noKey = await runInline(a, {
        pipeline: PIPELINE,
        partitions: [{ date: '2025-12-19', bucket: 'fx' }],
        params: { source: 'http', base_url: server.url },
      });
      expect(noKey.runs[0]!.error).toContain('environment variable FRED_API_KEY is not set');
      expect((await a.store.findItem(FRED_DOMAIN, 'ingest_bucket', 'bucket=fx|date=2025-12-19'))!.state).toBe('FAILED');
    } finally {
      restore();
    }
  });

  it('partitions: the date is an XNYS session and the bucket one of fx, rates_curve, financial_conditions', async () => {
    const a = await setup();
    await expect(enqueueWork(a.store, a.registry, [{ pipeline: PIPELINE, partition: { date: '2025-12-25', bucket: 'fx' } }])).rejects.toThrow(/Christmas Day/);
    await expect(enqueueWork(a.store, a.registry, [{ pipeline: PIPELINE, partition: { date: '2025-12-19', bucket: 'equities' } }])).rejects.toThrow(
      /must be one of fx, rates_curve, financial_conditions/,
    );
  });
});
