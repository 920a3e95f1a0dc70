import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, parseJsonOutput } from '../../helpers/process.js';
import { TEST_ACCESS, TestEnv } from '../../helpers/sqlite.js';
import { BAD, FIXTURES, WEEK, weekDir } from './support.js';

/** `sluice finra` and `sluice data` as scripts call them: real child processes (`node bin/sluice.js`). */
let env: TestEnv | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface RunResultJson {
  schema_version: string;
  domain: string;
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
  anomalies: { check: string; partition_key: string }[];
  warnings: string[];
  config: Record<string, unknown>;
  started_at: string;
  finished_at: string;
  scheduler: string;
}

const TOP_KEYS = ['schema_version', 'domain', 'scheduler', 'started_at', 'finished_at', 'status', 'stats', 'runs', 'anomalies', 'warnings', 'config'];
const RUN_KEYS = ['pipeline', 'partition_key', 'status', 'duration_ms', 'capture_id', 'row_count', 'is_revision', 'revision_summary'];

function expectContract(r: RunResultJson): void {
  for (const k of TOP_KEYS) expect(r).toHaveProperty(k);
  expect(r.schema_version).toBe('1.0.0');
  expect(r.domain).toBe('finra.otc_transparency');
  for (const run of r.runs) for (const k of RUN_KEYS) expect(run).toHaveProperty(k);
}

describe('sluice finra / sluice data (child processes)', () => {
  it('--json prints a valid run result and exits 0; sluice data prints the published rows', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const res = await env.cli(['finra', '--weeks', WEEK, '--data-dir', FIXTURES, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const result = parseJsonOutput<RunResultJson>(res);
    expectContract(result);
    expect(result.status).toBe('success');
    expect(result.stats).toEqual({ attempted: 11, succeeded: 11, failed: 0, skipped: 0 });
    expect(result.config).toMatchObject({
      weeks: [WEEK],
      tiers: ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'],
      source: { kind: 'file', data_dir: FIXTURES },
      mode: 'run',
      only_stage: 'all',
    });
    expect(result.anomalies).toContainEqual(expect.objectContaining({ check: 'rejected_rows', partition_key: `tier=OTC|week_ending=${WEEK}` }));

    const data = await env.cli(['data', 'finra.otc_transparency', 'hhi', '--where', 'symbol=AAPL', '--where', `week_ending=${WEEK}`, '--json']);
    expect(data.code, data.stderr).toBe(0);
    const rows = parseJsonOutput<Record<string, unknown>[]>(data);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ week_ending: WEEK, tier: 'NMS_TIER_1', symbol: 'AAPL', venue_count: 3, total_shares: 1000000, top_venue: 'UBSA' });
    expect(rows[0]!.hhi as number).toBeCloseTo(3800, 6); // 50² + 30² + 20²

    // --as-of a capture id, and as of an instant before anything landed.
    const byCapture = await env.cli(['data', 'finra.otc_transparency', 'hhi', '--as-of', String(rows[0]!.capture_id), '--json']);
    expect(parseJsonOutput<unknown[]>(byCapture)).toHaveLength(8);
    const before = await env.cli(['data', 'finra.otc_transparency', 'hhi', '--as-of', '2000-01-01T00:00:00Z', '--json']);
    expect(parseJsonOutput<unknown[]>(before)).toEqual([]);

    const unknown = await env.cli(['data', 'finra.otc_transparency', 'hhl', '--json']);
    expect(unknown.code).toBe(64);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(
      'DATASET: "hhl" is invalid: must name a dataset of finra.otc_transparency (known: venue_volume, venue_share, hhi, tier_split, rolling',
    );
    const badDomain = await env.cli(['data', 'finra', 'hhi']);
    expect(badDomain.code).toBe(64);
    expect(badDomain.stderr).toContain('finra.otc_transparency');
  });

  it("exits 2 with a partial run result when one tier's file is broken", async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const dir = weekDir();
    dirs.push(dir);
    writeFileSync(path.join(dir, 'otc_20251222.csv'), readFileSync(path.join(BAD, 'non_numeric_tier1_20251219.csv'), 'utf8').replaceAll('NMS Tier 1', 'OTC'));
    const res = await env.cli(['finra', '--weeks', WEEK, '--data-dir', dir, '--json']);
    expect(res.code, res.stderr).toBe(2);
    const result = parseJsonOutput<RunResultJson>(res);
    expectContract(result);
    expect(result.status).toBe('partial');
    const failed = result.runs.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.pipeline).toBe('finra.otc_transparency.ingest_week');
    expect(failed[0]!.error).toBe(`${path.join(dir, 'otc_20251222.csv')}: line 6, column 6 (totalWeeklyShareQuantity): "4OO000" is not a whole number`);
    expect(result.stats).toMatchObject({ succeeded: 4, failed: 1 });
    expect(result.runs.filter((r) => r.pipeline.includes('.compute_')).every((r) => r.status === 'skipped')).toBe(true);
  });

  it('bad flags exit 64 (EX_USAGE) naming the flag; --mode dry-run exits 0 and runs nothing', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const tiers = await env.cli(['finra', '--weeks', WEEK, '--tiers', 'NMS_TIER_1,TIER9', '--data-dir', FIXTURES, '--json']);
    expect(tiers.code).toBe(64);
    expect(tiers.stderr).toContain('--tiers: "TIER9" is invalid: must be one of NMS_TIER_1, NMS_TIER_2, OTC');
    // Any date of a week names it (by its Friday, with a warning); a non-date is refused.
    const week = await env.cli(['finra', '--weeks', '2025-12-18x', '--data-dir', FIXTURES]);
    expect(week.code).toBe(64);
    expect(week.stderr).toContain('--weeks: "2025-12-18x" is invalid: must be dates YYYY-MM-DD');
    const noSource = await env.cli(['finra', '--weeks', WEEK, '--json']);
    expect(noSource.code).toBe(64);
    expect(noSource.stderr).toContain('no FINRA source configured');

    const dry = await env.cli(['finra', '--weeks', WEEK, '--mode', 'dry-run', '--tiers', 'OTC', '--only-stage', 'ingest', '--data-dir', FIXTURES, '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const result = parseJsonOutput<RunResultJson>(dry);
    expect(result.status).toBe('dry_run');
    expect(result.runs.map((r) => [r.pipeline, r.partition_key, r.status])).toEqual([['finra.otc_transparency.ingest_week', `${WEEK}|OTC`, 'dry_run']]);
    // It says what it would read.
    expect(result.warnings).toEqual([`dry-run: would read ${path.join(FIXTURES, 'otc_20251222.csv')} for OTC week ${WEEK}`]);

    // Missing inputs: the dry run says which, and exits 1 (the real run would fail).
    const missingDir = await env.cli([
      'finra',
      '--weeks',
      WEEK,
      '--mode',
      'dry-run',
      '--tiers',
      'OTC',
      '--data-dir',
      path.join(env.dir, 'no-such-dir'),
      '--json',
    ]);
    expect(missingDir.code).toBe(1);
    expect(parseJsonOutput<RunResultJson>(missingDir).warnings).toEqual([
      `dry-run: input missing: data directory ${path.join(env.dir, 'no-such-dir')} does not exist (set --data-dir to the directory holding the FINRA files)`,
    ]);
    const missingFile = await env.cli(['finra', '--weeks', '2025-11-07', '--mode', 'dry-run', '--tiers', 'OTC', '--data-dir', FIXTURES, '--json']);
    expect(missingFile.code).toBe(1);
    expect(parseJsonOutput<RunResultJson>(missingFile).warnings[0]).toMatch(
      /^dry-run: input missing: OTC week 2025-11-07: none of otc_20251107\.csv, otc_20251110\.csv/,
    );
    const dryNoSource = await env.cli(['finra', '--weeks', WEEK, '--mode', 'dry-run', '--tiers', 'OTC', '--json']);
    expect(dryNoSource.code).toBe(1);
    expect(parseJsonOutput<RunResultJson>(dryNoSource).warnings[0]).toMatch(/^dry-run: input missing: no FINRA source configured/);
  });
});
