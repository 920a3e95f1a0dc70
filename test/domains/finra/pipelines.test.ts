import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceApp } from '../../../src/app/create-app.js';
import { runFinraBatch } from '../../../src/app/batches.js';
import type { RunResult } from '../../../src/core/run-result.js';
import { FINRA_DOMAIN, hhi, rawWeekly, tierSplit, venueShare } from '../../../src/domains/finra/index.js';
import { startFixtureServer, type FixtureServer } from '../../helpers/fixture-server.js';
import type { TestEnv } from '../../helpers/sqlite.js';
import { BAD, FIXTURES, RESTATED, WEEK, bySymbolTier, dataOnly, openApp, weekDir } from './support.js';

/**
 * FINRA end to end, in process: real SQLite file, real data layer, the real `sluice finra`
 * batch (runInline per stage), sources through files and a real HTTP server.
 */
let env: TestEnv | undefined;
let app: SluiceApp | undefined;
let server: FixtureServer | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await app?.close();
  env?.cleanup();
  await server?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  app = env = server = undefined;
});

async function setup(): Promise<SluiceApp> {
  ({ env, app } = await openApp());
  return app;
}

function run(
  a: SluiceApp,
  source: { source: 'file'; data_dir: string } | { source: 'http'; base_url: string },
  extra: Partial<Parameters<typeof runFinraBatch>[1]> = {},
): Promise<RunResult> {
  return runFinraBatch(a, { weeks: [WEEK], source, ...extra });
}

function entry(result: RunResult, pipeline: string, partitionKey: string) {
  const found = result.runs.find((r) => r.pipeline === `${FINRA_DOMAIN}.${pipeline}` && r.sluice_partition_key === partitionKey);
  if (!found) throw new Error(`no run entry for ${pipeline} [${partitionKey}] in ${JSON.stringify(result.runs.map((r) => [r.pipeline, r.partition_key]))}`);
  return found;
}

const T1 = `tier=NMS_TIER_1|week_ending=${WEEK}`;
const OTC = `tier=OTC|week_ending=${WEEK}`;

/**
 * Week 2025-12-19 by hand: HHI = Σ over venues of (100 × venue shares / symbol shares)².
 *   NMS_TIER_1 AAPL  UBSA 500000, JPMX 300000, MSPL 200000 of 1000000 -> 50² + 30² + 20² = 2500 + 900 + 400 = 3800
 *   NMS_TIER_1 MSFT  UBSA 400000, CROS 400000 of 800000                -> 50² + 50²               = 5000
 *   NMS_TIER_1 NVDA  four venues with 250000 each of 1000000           -> 4 × 25²                 = 2500
 *   NMS_TIER_2 PLUG  UBSA 60000, JPMX 30000, INCR 10000 of 100000      -> 60² + 30² + 10² = 3600 + 900 + 100 = 4600
 *   NMS_TIER_2 SIRI  UBSA 75000, CROS 25000 of 100000                  -> 75² + 25² = 5625 + 625  = 6250
 *   OTC        TCEHY OTCX 90000, UBSA 10000 of 100000                  -> 90² + 10² = 8100 + 100  = 8200
 *   OTC        NSRGY OTCX 40000, GLBO 40000, UBSA 20000 of 100000      -> 40² + 40² + 20² = 1600 + 1600 + 400 = 3600
 *   OTC        SIRI  OTCX 50000 alone                                   -> 100²                    = 10000
 * Tier split SIRI: 100000 in NMS_TIER_2 and 50000 in OTC of 150000 -> 2/3 and 1/3.
 */
const EXPECTED_HHI: Record<string, number> = {
  'AAPL@NMS_TIER_1': 3800,
  'MSFT@NMS_TIER_1': 5000,
  'NVDA@NMS_TIER_1': 2500,
  'PLUG@NMS_TIER_2': 4600,
  'SIRI@NMS_TIER_2': 6250,
  'TCEHY@OTC': 8200,
  'NSRGY@OTC': 3600,
  'SIRI@OTC': 10000,
};

async function expectWeekPublished(a: SluiceApp): Promise<void> {
  const hhiRowsLanded = bySymbolTier(await a.data.latest(hhi, { where: { week_ending: WEEK } }));
  expect([...hhiRowsLanded.keys()].sort()).toEqual(Object.keys(EXPECTED_HHI).sort());
  for (const [key, value] of Object.entries(EXPECTED_HHI)) expect(hhiRowsLanded.get(key)!.hhi, key).toBeCloseTo(value, 6);

  // Venue shares: within every (tier, level, symbol) group they sum to 1 and are ranked by shares.
  const shares = await a.data.latest(venueShare, { where: { week_ending: WEEK } });
  const groups = new Map<string, typeof shares>();
  for (const r of shares) {
    const k = `${String(r.tier)}|${String(r.level)}|${String(r.symbol)}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  expect(groups.size).toBe(8 + 3); // 8 (tier, symbol) groups + one per tier
  for (const [k, rows] of groups) {
    const sum = rows.reduce((s, r) => s + Number(r.share), 0);
    expect(Math.abs(sum - 1), k).toBeLessThan(1e-4);
    const ranked = [...rows].sort((x, y) => Number(x.rank) - Number(y.rank));
    expect(ranked.map((r) => r.rank)).toEqual(ranked.map((_, i) => i + 1));
    for (let i = 1; i < ranked.length; i++) expect(Number(ranked[i - 1]!.shares)).toBeGreaterThanOrEqual(Number(ranked[i]!.shares));
  }

  // Tier split across the latest capture of every tier: not every symbol is 100% in one tier.
  const split = new Map((await a.data.latest(tierSplit, { where: { week_ending: WEEK } })).map((r) => [String(r.symbol), r]));
  expect(split.get('SIRI')).toMatchObject({ nms_tier_1_shares: 0, nms_tier_2_shares: 100000, otc_shares: 50000, total_shares: 150000 });
  expect(Number(split.get('SIRI')!.nms_tier_2_fraction)).toBeCloseTo(2 / 3, 9);
  expect(Number(split.get('SIRI')!.otc_fraction)).toBeCloseTo(1 / 3, 9);
  expect(split.get('AAPL')).toMatchObject({ nms_tier_1_fraction: 1, nms_tier_2_fraction: 0, otc_fraction: 0 });
  const fractions = [...split.values()].flatMap((r) => [r.nms_tier_1_fraction, r.nms_tier_2_fraction, r.otc_fraction].map(Number));
  expect(fractions.filter((f) => f > 0 && f < 1).length).toBeGreaterThan(0);
  expect(split.size).toBe(7);
}

describe('finra.otc_transparency end to end', () => {
  it('through files: a week across three tiers lands, computes the HHI by hand, and rejects the empty-symbol trailer', async () => {
    const a = await setup();
    const result = await run(a, { source: 'file', data_dir: FIXTURES });
    expect(result.status, JSON.stringify(result.runs.filter((r) => r.status === 'failed'))).toBe('success');
    // 3 ingest + 3 normalize + 5 computes.
    expect(result.stats).toEqual({ attempted: 11, succeeded: 11, failed: 0, skipped: 0 });
    expect(result.domain).toBe(FINRA_DOMAIN);
    await expectWeekPublished(a);

    // The OTC file (named by its publication Monday) ends with an empty-symbol row and no newline:
    // the row is rejected with its line and reason, recorded, counted as an anomaly; the rest landed.
    const otc = entry(result, 'ingest_week', OTC);
    expect(otc).toMatchObject({ status: 'completed', row_count: 6, is_revision: false });
    expect(await a.data.rejects(otc.capture_id!)).toEqual([
      { capture_id: otc.capture_id, line: 8, reason: 'empty issueSymbolIdentifier', raw: 'OTC|||||0|0|2025-12-22' },
    ]);
    expect(result.anomalies).toContainEqual(expect.objectContaining({ pipeline: `${FINRA_DOMAIN}.ingest_week`, partition_key: OTC, check: 'rejected_rows' }));
    const captures = await a.data.listCaptures({ domain: FINRA_DOMAIN, partitionKey: OTC, stage: 'ingest' });
    expect(captures).toHaveLength(1);
    expect(captures[0]!.source).toBe(path.join(FIXTURES, 'otc_20251222.csv'));
  });

  it('a re-run with the same bytes is skipped as unchanged, stage by stage', async () => {
    const a = await setup();
    const first = await run(a, { source: 'file', data_dir: FIXTURES });
    const again = await run(a, { source: 'file', data_dir: FIXTURES });
    expect(again.status).toBe('success');
    expect(again.stats).toEqual({ attempted: 0, succeeded: 0, failed: 0, skipped: 11 });
    for (const r of again.runs) expect(r.reason, `${r.pipeline} ${r.partition_key}`).toMatch(/^unchanged: same content hash as capture /);
    expect(entry(again, 'ingest_week', T1).capture_id).toBe(entry(first, 'ingest_week', T1).capture_id);
    expect(await a.data.listCaptures({ domain: FINRA_DOMAIN, stage: 'ingest' })).toHaveLength(3);

    // --force lands the same bytes again (same capture, no revision).
    const forced = await run(a, { source: 'file', data_dir: FIXTURES }, { force: true, onlyStage: 'ingest' });
    expect(forced.stats).toMatchObject({ succeeded: 3, skipped: 0 });
    expect(entry(forced, 'ingest_week', T1)).toMatchObject({ is_revision: false });
  });

  it('a changed file is a restatement with the right revision summary; as-of still shows the old numbers', async () => {
    const a = await setup();
    const first = await run(a, { source: 'file', data_dir: FIXTURES });
    const oldHhiCapture = entry(first, 'compute_hhi', `week_ending=${WEEK}`).capture_id!;

    // restated/tier1_20251219.csv: AAPL at UBSA 500000 -> 600000 (changed), MSPL gone (removed), INCR 100000 (added).
    const restated = await run(a, { source: 'file', data_dir: RESTATED });
    expect(restated.status).toBe('success');
    const ingest = entry(restated, 'ingest_week', T1);
    expect(ingest).toMatchObject({
      status: 'completed',
      is_revision: true,
      revision_summary: { rows_added: 1, rows_removed: 1, rows_changed: 1 },
      row_count: 9,
    });
    expect(entry(restated, 'normalize_week', T1)).toMatchObject({
      status: 'completed',
      is_revision: true,
      revision_summary: { rows_added: 1, rows_removed: 1, rows_changed: 1 },
    });
    expect(entry(restated, 'ingest_week', OTC)).toMatchObject({ status: 'skipped' });
    expect(entry(restated, 'compute_hhi', `week_ending=${WEEK}`)).toMatchObject({
      status: 'completed',
      is_revision: true,
      revision_summary: { rows_added: 0, rows_removed: 0, rows_changed: 1 },
    });

    // AAPL now 600000/300000/100000 of 1000000 -> 60² + 30² + 10² = 3600 + 900 + 100 = 4600.
    const latest = bySymbolTier(await a.data.latest(hhi, { where: { week_ending: WEEK } }));
    expect(latest.get('AAPL@NMS_TIER_1')!.hhi).toBeCloseTo(4600, 6);
    expect(latest.get('MSFT@NMS_TIER_1')!.hhi).toBeCloseTo(5000, 6);
    const old = bySymbolTier(await a.data.asOf(hhi, { capture_id: oldHhiCapture }));
    expect(old.get('AAPL@NMS_TIER_1')!.hhi).toBeCloseTo(3800, 6);
    // Both ingest captures of tier 1 are kept.
    expect(await a.data.listCaptures({ domain: FINRA_DOMAIN, partitionKey: T1, stage: 'ingest' })).toHaveLength(2);
  });

  it('through a real HTTP server: same numbers, Monday-named files found after a 404, re-run unchanged', async () => {
    const a = await setup();
    server = await startFixtureServer({ root: FIXTURES });
    const result = await run(a, { source: 'http', base_url: server.url });
    expect(result.status, JSON.stringify(result.runs.filter((r) => r.status === 'failed'))).toBe('success');
    await expectWeekPublished(a);
    expect(server.hits('/otc_20251219.csv')).toBe(1); // 404: tried the Friday name first
    expect(server.hits('/otc_20251222.csv')).toBe(1);
    const otc = entry(result, 'ingest_week', OTC);
    const [capture] = await a.data.listCaptures({ domain: FINRA_DOMAIN, partitionKey: OTC, stage: 'ingest' });
    expect(capture!.source).toBe(`${server.url}/otc_20251222.csv`);
    expect(await a.data.rejects(otc.capture_id!)).toHaveLength(1);

    const again = await run(a, { source: 'http', base_url: server.url });
    expect(entry(again, 'ingest_week', T1)).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^unchanged/) });
  });

  it('an HTML page served with 200 fails the attempt naming the URL and status; nothing from it lands', async () => {
    const a = await setup();
    server = await startFixtureServer({ root: FIXTURES });
    await run(a, { source: 'http', base_url: server.url });
    const before = dataOnly(await a.data.latest(rawWeekly, { where: { partition_key: T1 } }));

    server.behave('/tier1_20251219.csv', { kind: 'html' });
    const result = await run(a, { source: 'http', base_url: server.url }, { force: true });
    expect(result.status).toBe('partial');
    const failed = entry(result, 'ingest_week', T1);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe(`GET ${server.url}/tier1_20251219.csv returned an HTML page (status 200, text/html; charset=utf-8) where data was expected`);
    expect(dataOnly(await a.data.latest(rawWeekly, { where: { partition_key: T1 } }))).toEqual(before);
    expect(await a.data.listCaptures({ domain: FINRA_DOMAIN, partitionKey: T1, stage: 'ingest' })).toHaveLength(1);
    // A maintenance page may go away: the item waits for a retry rather than failing for good.
    const item = await a.store.findItem(FINRA_DOMAIN, 'ingest_week', T1);
    expect(item!.state).toBe('RETRY_WAIT');
  });

  const damaged: [string, string, RegExp][] = [
    ['a truncated file', 'truncated_tier1_20251219.csv', /tier1_20251219\.csv: line 5, column 5 \(MPID\): has 4 columns, expected 8/],
    [
      'a wrong header',
      'wrong_header_tier1_20251219.csv',
      /tier1_20251219\.csv: line 1, column 6 \(totalWeeklyShareQuantity\): header column 6 must be "totalWeeklyShareQuantity", found "totalWeeklyShares"/,
    ],
    [
      'a non-numeric quantity',
      'non_numeric_tier1_20251219.csv',
      /tier1_20251219\.csv: line 6, column 6 \(totalWeeklyShareQuantity\): "4OO000" is not a whole number/,
    ],
  ];
  for (const [what, file, message] of damaged) {
    it(`${what} fails the whole capture naming file, line and column; latest reads are unchanged`, async () => {
      const a = await setup();
      const dir = weekDir();
      dirs.push(dir);
      expect((await run(a, { source: 'file', data_dir: dir })).status).toBe('success');
      const before = dataOnly(await a.data.latest(rawWeekly, { where: { partition_key: T1 } }));
      const hhiBefore = dataOnly(await a.data.latest(hhi));

      writeFileSync(path.join(dir, 'tier1_20251219.csv'), readFileSync(path.join(BAD, file)));
      const result = await run(a, { source: 'file', data_dir: dir });
      expect(result.status).toBe('partial');
      const failed = entry(result, 'ingest_week', T1);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(message);
      expect(failed.error).toContain(path.join(dir, 'tier1_20251219.csv'));
      // Bad bytes do not fix themselves: no retry.
      expect((await a.store.findItem(FINRA_DOMAIN, 'ingest_week', T1))!.state).toBe('FAILED');
      expect(dataOnly(await a.data.latest(rawWeekly, { where: { partition_key: T1 } }))).toEqual(before);
      expect(dataOnly(await a.data.latest(hhi))).toEqual(hhiBefore);
      expect(await a.data.listCaptures({ domain: FINRA_DOMAIN, partitionKey: T1, stage: 'ingest' })).toHaveLength(1);
    });
  }

  it('rows with a bad MPID or another tier are rejected with line and reason; the rest lands', async () => {
    const a = await setup();
    const dir = weekDir({ 'tier1_20251219.csv': readFileSync(path.join(BAD, 'bad_rows_tier1_20251219.csv'), 'utf8') });
    dirs.push(dir);
    const result = await run(a, { source: 'file', data_dir: dir }, { onlyStage: 'ingest', tiers: ['NMS_TIER_1'] });
    expect(result.status).toBe('success');
    const ingest = entry(result, 'ingest_week', T1);
    expect(ingest.row_count).toBe(9);
    expect((await a.data.rejects(ingest.capture_id!)).map((r) => [r.line, r.reason])).toEqual([
      [5, 'MPID "ab1" is not a market participant identifier (four upper-case letters or digits)'],
      [6, `tierDescription "NMS Tier 2" does not match the partition's tier NMS_TIER_1 (NMS Tier 1)`],
    ]);
    expect(result.anomalies).toEqual([expect.objectContaining({ check: 'rejected_rows', partition_key: T1 })]);
  });

  it('a file whose rows are all rejected (five-letter MPIDs) fails the attempt, lands nothing and keeps the prior capture latest', async () => {
    const a = await setup();
    const dir = weekDir();
    dirs.push(dir);
    expect((await run(a, { source: 'file', data_dir: dir })).status).toBe('success');
    const before = dataOnly(await a.data.latest(rawWeekly, { where: { partition_key: T1 } }));
    const file = path.join(dir, 'tier1_20251219.csv');
    const [header, ...body] = readFileSync(file, 'utf8').trimEnd().split('\n');
    const broken = body
      .filter((l) => l.split('|')[1] !== '')
      .map((l) =>
        l
          .split('|')
          .map((c, i) => (i === 4 ? 'ABCDE' : c))
          .join('|'),
      );
    writeFileSync(file, [header, ...broken, ''].join('\n'));
    const result = await run(a, { source: 'file', data_dir: dir }, { tiers: ['NMS_TIER_1'] });
    expect(result.status).not.toBe('success');
    const failed = entry(result, 'ingest_week', T1);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(
      new RegExp(
        `all ${broken.length} rows rejected; nothing landed, the prior capture stays latest\\. First rejects: line 2: MPID "ABCDE" is not a market participant identifier`,
      ),
    );
    const item = (await a.store.findItem(FINRA_DOMAIN, 'ingest_week', T1))!;
    expect(item.state).toBe('FAILED');
    // The sample stays on the attempt.
    const attempts = await a.store.listAttempts(item.id);
    expect(attempts.at(-1)).toMatchObject({ status: 'failed', error: expect.stringContaining('line 3: MPID "ABCDE"') });
    expect(dataOnly(await a.data.latest(rawWeekly, { where: { partition_key: T1 } }))).toEqual(before);
    expect(await a.data.listCaptures({ domain: FINRA_DOMAIN, partitionKey: T1, stage: 'ingest' })).toHaveLength(1);
  });

  it('a missing file fails naming every name tried, and is retried later (it may not be published yet)', async () => {
    const a = await setup();
    const dir = weekDir();
    dirs.push(dir);
    rmSync(path.join(dir, 'otc_20251222.csv'));
    const result = await run(a, { source: 'file', data_dir: dir });
    expect(result.status).toBe('partial');
    const failed = entry(result, 'ingest_week', OTC);
    expect(failed.error).toBe(
      `file not found: any of ${['otc_20251219.csv', 'otc_20251222.csv', 'finra_otc_weekly_otc_20251219.csv', 'finra_otc_weekly_otc_20251222.csv'].map((f) => path.join(dir, f)).join(', ')}`,
    );
    expect((await a.store.findItem(FINRA_DOMAIN, 'ingest_week', OTC))!.state).toBe('RETRY_WAIT');
    // Its normalize and every compute wait for it instead of running on two tiers.
    expect(entry(result, 'normalize_week', OTC)).toMatchObject({
      status: 'skipped',
      blocked: true,
      reason: 'blocked: waiting for upstream partitions (missing inputs)',
    });
    expect(entry(result, 'compute_hhi', `week_ending=${WEEK}`)).toMatchObject({
      status: 'skipped',
      blocked: true,
      reason: 'blocked: waiting for upstream partitions (missing inputs)',
    });
    expect(await a.data.latest(hhi)).toEqual([]);
  });

  it('lookback weeks over the maximum are clamped with a warning unless forced; dry-run runs nothing', async () => {
    const a = await setup();
    const dry = await runFinraBatch(a, { lookbackWeeks: 20, asOf: '2025-12-22', dryRun: true });
    expect(dry.status).toBe('dry_run');
    // (No source is configured here, so the dry run also says its inputs are missing.)
    expect(dry.warnings.filter((w) => !w.startsWith('dry-run:'))).toEqual(['WARNING: Lookback 20 exceeds max 12, clamped. Use --force to override.']);
    expect(dry.warnings.filter((w) => w.startsWith('dry-run:'))).toEqual([expect.stringMatching(/^dry-run: input missing: no FINRA source configured/)]);
    const weeks = dry.config.weeks as string[];
    expect(weeks).toHaveLength(12);
    // As of Monday 2025-12-22 the week ending 2025-12-19 is published.
    expect(weeks.at(-1)).toBe('2025-12-19');
    expect(dry.runs.every((r) => r.status === 'dry_run')).toBe(true);
    expect(await a.store.countItems()).toBe(0);

    const forced = await runFinraBatch(a, { lookbackWeeks: 20, asOf: '2025-12-21', dryRun: true, force: true });
    expect(forced.warnings.filter((w) => !w.startsWith('dry-run:'))).toEqual([]);
    expect((forced.config.weeks as string[]).length).toBe(20);
    // Sunday 2025-12-21: that week is not published until Monday.
    expect((forced.config.weeks as string[]).at(-1)).toBe('2025-12-12');
  });
});
