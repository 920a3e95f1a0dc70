import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { startHarness, type Harness } from './support/harness.js';
import { TEST_ACCESS } from '../helpers/sqlite.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/finra/', import.meta.url));
const WEEK = '2025-12-19';

describe('GET /api/v1/data/:domain/:dataset (the REST twin of `sluice data`)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { access: TEST_ACCESS } });
    // Land one real FINRA week from the bundled fixtures through the real pipelines.
    await enqueueWork(
      h.app.store,
      h.app.registry,
      ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'].map((tier) => ({
        pipeline: 'finra.otc_transparency.ingest_week',
        partition: { week_ending: WEEK, tier },
        params: { source: 'file', data_dir: FIXTURES },
      })),
    );
    const { failed } = await h.app.createWorker({ concurrency: 2 }).drain();
    expect(failed).toBe(0);
  });
  afterAll(async () => {
    await h.close();
  });

  it('returns the same rows as the data layer, filtered by query parameters', async () => {
    const res = await h.call('GET', `/api/v1/data/finra.otc_transparency/hhi?week_ending=${WEEK}&tier=OTC`);
    expect(res.status).toBe(200);
    expect(res.body.rows.length).toBeGreaterThan(0);
    for (const row of res.body.rows) {
      expect(row).toMatchObject({ week_ending: WEEK, tier: 'OTC' });
      expect(row.hhi).toBeGreaterThanOrEqual(0);
      expect(row.hhi).toBeLessThanOrEqual(10_000);
    }
    const all = await h.call('GET', `/api/v1/data/finra.otc_transparency/hhi?week_ending=${WEEK}`);
    const tiers = new Set(all.body.rows.map((r: { tier: string }) => r.tier));
    expect(tiers).toEqual(new Set(['NMS_TIER_1', 'NMS_TIER_2', 'OTC']));
  });

  it('as_of before the first capture returns no rows', async () => {
    const res = await h.call('GET', `/api/v1/data/finra.otc_transparency/hhi?as_of=2000-01-01`);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([]);
  });

  it('names the field and the rule for an unknown domain, dataset, column or as_of', async () => {
    const domain = await h.call('GET', '/api/v1/data/nope/hhi');
    expect(domain.status).toBe(400);
    expect(domain.body.error.field).toBe('domain');
    expect(domain.body.error.message).toMatch(/known: .*finra\.otc_transparency/);
    const dataset = await h.call('GET', '/api/v1/data/finra.otc_transparency/nope');
    expect(dataset.status).toBe(400);
    expect(dataset.body.error.field).toBe('dataset');
    const column = await h.call('GET', '/api/v1/data/finra.otc_transparency/hhi?colour=red');
    expect(column.status).toBe(400);
    expect(column.body.error.message).toMatch(/colour/);
    const asOf = await h.call('GET', '/api/v1/data/finra.otc_transparency/hhi?as_of=2025-13-45');
    expect(asOf.status).toBe(400);
    expect(asOf.body.error.field).toBe('as_of');
  });
});
