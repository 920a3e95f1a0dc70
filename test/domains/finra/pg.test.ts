import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { createApp, type SluiceApp } from '../../../src/app/create-app.js';
import { runFinraBatch } from '../../../src/app/batches.js';
import { hhi, tierSplit } from '../../../src/domains/finra/index.js';
import { describeIfPg, PG_URL } from '../../helpers/pg.js';
import { TEST_ACCESS, TestEnv } from '../../helpers/sqlite.js';
import { FIXTURES, RESTATED, WEEK, bySymbolTier } from './support.js';

/** The same FINRA flow on PostgreSQL (queue and data layer in one schema, dropped afterwards). */
let app: SluiceApp | undefined;
let env: TestEnv | undefined;
let schema: string | undefined;

afterEach(async () => {
  await app?.close();
  env?.cleanup();
  if (schema) {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
  }
  app = env = schema = undefined;
});

describeIfPg('finra.otc_transparency on PostgreSQL', () => {
  it('lands, computes the hand-checked HHI, skips unchanged bytes and restates changed ones', async () => {
    schema = `sluice_test_${randomBytes(6).toString('hex')}`;
    env = new TestEnv({ access: TEST_ACCESS }, 'sluice-finra-pg-');
    const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    app = await createApp({ configPath: env.configPath, database: url, logLevel: 'silent' });
    expect(app.store.backend).toBe('postgres');

    const first = await runFinraBatch(app, { weeks: [WEEK], source: { source: 'file', data_dir: FIXTURES } });
    expect(first.status, JSON.stringify(first.runs.filter((r) => r.status === 'failed'))).toBe('success');
    const rows = bySymbolTier(await app.data.latest(hhi, { where: { week_ending: WEEK } }));
    expect(rows.get('AAPL@NMS_TIER_1')!.hhi).toBeCloseTo(3800, 6); // 50² + 30² + 20²
    expect(rows.get('NSRGY@OTC')!.hhi).toBeCloseTo(3600, 6); // 40² + 40² + 20²
    const siri = (await app.data.latest(tierSplit, { where: { week_ending: WEEK, symbol: 'SIRI' } }))[0]!;
    expect(Number(siri.otc_fraction)).toBeCloseTo(1 / 3, 9);

    const again = await runFinraBatch(app, { weeks: [WEEK], source: { source: 'file', data_dir: FIXTURES } });
    expect(again.stats).toMatchObject({ attempted: 0, skipped: 11 });

    const restated = await runFinraBatch(app, { weeks: [WEEK], source: { source: 'file', data_dir: RESTATED } });
    const ingest = restated.runs.find((r) => r.pipeline.endsWith('.ingest_week') && r.sluice_partition_key?.startsWith('tier=NMS_TIER_1'))!;
    expect(ingest).toMatchObject({ status: 'completed', is_revision: true, revision_summary: { rows_added: 1, rows_removed: 1, rows_changed: 1 } });
    expect(bySymbolTier(await app.data.latest(hhi, { where: { week_ending: WEEK } })).get('AAPL@NMS_TIER_1')!.hhi).toBeCloseTo(4600, 6); // 60² + 30² + 10²
  });
});
