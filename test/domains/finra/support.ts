import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type SluiceApp } from '../../../src/app/create-app.js';
import type { DataRow } from '../../../src/data/dataset.js';
import { REPO_ROOT } from '../../helpers/process.js';
import { TEST_ACCESS, TestEnv } from '../../helpers/sqlite.js';

/** Bundled demo data (3 weeks × 3 tiers) and the damaged files the tests feed in. */
export const FIXTURES = path.join(REPO_ROOT, 'fixtures', 'finra');
export const RESTATED = path.join(FIXTURES, 'restated');
export const BAD = path.join(REPO_ROOT, 'test', 'fixtures', 'finra');

export const WEEK = '2025-12-19';
/** The three files of week 2025-12-19 as bundled (the OTC one is named by its publication Monday). */
export const WEEK_FILES = ['tier1_20251219.csv', 'tier2_20251219.csv', 'otc_20251222.csv'] as const;

/** A temp directory holding a copy of week 2025-12-19's files, plus `extra` files by name. */
export function weekDir(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-finra-'));
  for (const f of WEEK_FILES) copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  for (const [name, content] of Object.entries(extra)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** A real app (config file, SQLite file) in a fresh temp directory. */
export async function openApp(): Promise<{ env: TestEnv; app: SluiceApp }> {
  const env = new TestEnv({ access: TEST_ACCESS }, 'sluice-finra-db-');
  const app = await createApp({ configPath: env.configPath, database: env.dbUrl, logLevel: 'silent' });
  return { env, app };
}

/** `{ "AAPL@NMS_TIER_1": row }` */
export function bySymbolTier(rows: DataRow[]): Map<string, DataRow> {
  return new Map(rows.map((r) => [`${String(r.symbol)}@${String(r.tier)}`, r]));
}

/** The data columns of rows (no capture_id / partition_key), sorted, for before/after comparisons. */
export function dataOnly(rows: DataRow[]): Record<string, unknown>[] {
  return rows.map(({ capture_id: _c, partition_key: _p, ...rest }) => rest).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
