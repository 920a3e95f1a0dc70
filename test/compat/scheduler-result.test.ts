import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/process.js';
import { TEST_ACCESS, TestEnv } from '../helpers/sqlite.js';

/** `sluice finra --json` against the scheduler ops guide's (seed 001) example document. */
const GUIDE = readFileSync('/work/shared/seeds/001_dd373e6406682f40.txt', 'utf8');
const example = JSON.parse(/### JSON Schema\s*```json\n([\s\S]*?)```/.exec(GUIDE)![1]!) as Record<string, any>;
const FIXTURES = path.join(REPO_ROOT, 'fixtures', 'finra');

/** Every key path of the example, with the JSON type of its value. */
function shape(v: unknown, at = ''): Map<string, string> {
  const out = new Map<string, string>();
  const type = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  out.set(at, type);
  if (Array.isArray(v) && v.length) for (const [k, t] of shape(v[0], `${at}[]`)) out.set(k, t);
  else if (type === 'object') for (const [k, x] of Object.entries(v as object)) for (const [p, t] of shape(x, `${at}.${k}`)) out.set(p, t);
  return out;
}

let env: TestEnv | undefined;
afterEach(() => env?.cleanup?.());

describe("the guide's run result document", () => {
  it('has every key of the example, with the same value types and forms', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const res = await env.cli([
      'finra',
      '--lookback-weeks',
      '1',
      '--as-of',
      '2025-12-22',
      '--tiers',
      'NMS_TIER_1',
      '--only-stage',
      'ingest',
      '--data-dir',
      FIXTURES,
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as Record<string, any>;
    const got = shape(result);
    for (const [key, type] of shape(example)) {
      // revision_summary is null on a first capture (the example shows a restatement).
      if (key.startsWith('.runs[].revision_summary.')) continue;
      if (key === '.runs[].revision_summary') expect(['object', 'null']).toContain(got.get(key));
      else if (key === '.anomalies[]' || key === '.warnings[]') continue;
      else expect(got.get(key), key).toBe(type);
    }
    expect(result.schema_version).toBe(example.schema_version);
    expect(result.scheduler).toBe(example.scheduler);
    expect(result.domain).toBe(example.domain);
    const run = result.runs[0];
    expect(run.status).toBe(example.runs[0].status); // completed
    expect(run.pipeline).toBe(example.runs[0].pipeline);
    expect(run.partition_key).toBe('2025-12-19|NMS_TIER_1'); // like 2025-01-03|NMS_TIER_1
    expect(example.runs[0].partition_key).toMatch(/^\d{4}-\d{2}-\d{2}\|NMS_TIER_1$/);
    // {domain}:{tier}:{week_ending}:{YYYYMMDD}, the captured day (today, UTC)
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    expect(run.capture_id).toBe(`finra.otc_transparency:NMS_TIER_1:2025-12-19:${today}`);
    expect(example.runs[0].capture_id).toMatch(/^finra\.otc_transparency:NMS_TIER_1:\d{4}-\d{2}-\d{2}:\d{8}$/);
    expect(result.config).toMatchObject({ mode: 'run' });
    expect(Object.keys(result.stats).sort()).toEqual(Object.keys(example.stats).sort());
  }, 120_000);

  it('prints the clamp warning line on stderr and reports the lookback used', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const res = await env.cli(['finra', '--lookback-weeks', '20', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    // The fixtures hold a few weeks, not twelve: the dry run names the missing files and exits 1.
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr.split('\n')).toContain('WARNING: Lookback 20 exceeds max 12, clamped. Use --force to override.');
    const result = JSON.parse(res.stdout) as Record<string, any>;
    expect(result.config.lookback_weeks).toBe(12);
    const forced = await env.cli(['finra', '--lookback-weeks', '20', '--force', '--mode', 'dry-run', '--data-dir', FIXTURES, '--json']);
    expect(forced.stderr).not.toContain('WARNING: Lookback');
    expect(JSON.parse(forced.stdout).config.lookback_weeks).toBe(20);
  }, 120_000);

  it('--fail-fast stopping at the first failure exits 1 (all failed), as the table says', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const empty = mkdtempSync(path.join(tmpdir(), 'sluice-empty-')); // no week files: every ingest fails
    const res = await env.cli(['finra', '--weeks', '2025-12-19', '--only-stage', 'ingest', '--data-dir', empty, '--fail-fast', '--json']);
    expect(res.stdout, res.stderr).not.toBe('');
    const result = JSON.parse(res.stdout) as Record<string, any>;
    expect(result.status).toBe('failure');
    expect(res.code).toBe(1);
    expect(result.runs.map((r: any) => r.status)).toEqual(['failed', 'skipped', 'skipped']);
  }, 120_000);

  it('a run whose items are blocked on missing inputs is not a success (issue 17): failure, exit 1', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const res = await env.cli(['run', 'features.daily_matrix', '--partition', 'date=2025-12-23', '--json']);
    const result = JSON.parse(res.stdout) as Record<string, any>;
    expect(result.status).toBe('failure');
    expect(res.code).toBe(1);
    expect(result.runs[0]).toMatchObject({ status: 'skipped', blocked: true, reason: expect.stringMatching(/missing inputs/) });
  }, 120_000);
});
