import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killStarted, parseJsonOutput, REPO_ROOT, runSluice } from '../helpers/process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-manifest-'));
const db = `sqlite:${path.join(dir, 'q.db')}`;
const fixtures = path.join(REPO_ROOT, 'fixtures', 'finra');

afterEach(killStarted);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice manifest', () => {
  it('lists the latest capture per partition and stage, and every capture with --captures (a restatement keeps both)', async () => {
    const first = await runSluice(
      ['--db', db, 'finra', '--weeks', '2025-12-19', '--tiers', 'NMS_TIER_1', '--source', 'file', '--data-dir', fixtures, '--json'],
      { timeoutMs: 60_000 },
    );
    // One tier only: the week's analytics wait for the other two tiers, so the run is partial (exit 2), not a success.
    expect(first.code).toBe(2);
    const restated = await runSluice(
      [
        '--db',
        db,
        'finra',
        '--weeks',
        '2025-12-19',
        '--tiers',
        'NMS_TIER_1',
        '--source',
        'file',
        '--data-dir',
        path.join(fixtures, 'restated'),
        '--only-stage',
        'ingest',
        '--json',
      ],
      { timeoutMs: 60_000 },
    );
    expect(restated.code).toBe(0);

    const manifest = parseJsonOutput<{ partition_key: string; stage: string; row_count: number; capture_id: string }[]>(
      await runSluice(['--db', db, 'manifest', '--domain', 'finra.otc_transparency', '--stage', 'ingest', '--json']),
    );
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.partition_key).toBe('tier=NMS_TIER_1|week_ending=2025-12-19');
    expect(manifest[0]!.row_count).toBeGreaterThan(0);

    const captures = parseJsonOutput<{ capture_id: string; is_revision: boolean; revision_summary: unknown }[]>(
      await runSluice(['--db', db, 'manifest', '--domain', 'finra.otc_transparency', '--stage', 'ingest', '--captures', '--json']),
    );
    expect(captures).toHaveLength(2);
    expect(captures.filter((c) => c.is_revision)).toHaveLength(1);
    // The manifest points at the newest capture: the restatement.
    expect(manifest[0]!.capture_id).toBe(captures.find((c) => c.is_revision)!.capture_id);
  });

  it('--captures without --domain is one clear error', async () => {
    const result = await runSluice(['--db', db, 'manifest', '--captures']);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/sluice: error: --domain: missing value is invalid: must be given with --captures/);
  });
});
