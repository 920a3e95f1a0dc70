import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceApp } from '../../../src/app/create-app.js';
import { enqueueWork } from '../../../src/engine/enqueue.js';
import { FINRA_DOMAIN, hhi, PIPELINES, TIERS, venueShare } from '../../../src/domains/finra/index.js';
import type { TestEnv } from '../../helpers/sqlite.js';
import { FIXTURES, WEEK, openApp } from './support.js';

/**
 * The queue flow a worker pool sees: enqueueing ingest brings its normalize and the week's
 * computes in as WAITING (auto dependencies); the computes run only once all three tiers
 * are normalized. Real Worker, real SQLite file.
 */
let env: TestEnv | undefined;
let app: SluiceApp | undefined;
afterEach(async () => {
  await app?.close();
  env?.cleanup();
  app = env = undefined;
});

const COMPUTES = ['compute_venue_volume', 'compute_venue_share', 'compute_hhi', 'compute_tier_split', 'compute_rolling'];

async function states(a: SluiceApp): Promise<Record<string, string>> {
  const items = await a.store.listItems({ domain: FINRA_DOMAIN, limit: 1000 });
  return Object.fromEntries(items.map((i) => [`${i.pipeline} ${i.partitionKey}`, i.state]));
}

function ingest(tier: string) {
  return { pipeline: PIPELINES.ingest, partition: { week_ending: WEEK, tier }, params: { source: 'file', data_dir: FIXTURES } };
}

describe('finra dependencies through a worker', () => {
  it('computes stay WAITING until all three tiers are normalized, then run', async () => {
    ({ env, app } = await openApp());
    const a = app;
    await enqueueWork(a.store, a.registry, [ingest('NMS_TIER_1'), ingest('NMS_TIER_2')]);
    let s = await states(a);
    expect(s[`normalize_week tier=NMS_TIER_1|week_ending=${WEEK}`]).toBe('WAITING');
    for (const c of COMPUTES) expect(s[`${c} week_ending=${WEEK}`], c).toBe('WAITING');

    // Two tiers in: their normalize runs, the computes do not (OTC never enqueued yet).
    const first = await a.createWorker({ concurrency: 2, pollMs: 50 }).drain();
    expect(first.failed).toBe(0);
    s = await states(a);
    for (const tier of ['NMS_TIER_1', 'NMS_TIER_2']) {
      expect(s[`ingest_week tier=${tier}|week_ending=${WEEK}`]).toBe('COMPLETE');
      expect(s[`normalize_week tier=${tier}|week_ending=${WEEK}`]).toBe('COMPLETE');
    }
    for (const c of COMPUTES) expect(s[`${c} week_ending=${WEEK}`], c).toBe('WAITING');
    expect(await a.data.latest(hhi)).toEqual([]);
    const hhiItem = (await a.store.findItem(FINRA_DOMAIN, 'compute_hhi', `week_ending=${WEEK}`))!;
    const deps = await a.store.listDependencies(hhiItem.id);
    expect(deps.map((d) => [d.pipeline, d.partitionKey, d.state]).sort()).toEqual(
      TIERS.map((t) => ['normalize_week', `tier=${t}|week_ending=${WEEK}`, t === 'OTC' ? null : 'COMPLETE']).sort(),
    );

    // The third tier arrives: everything runs.
    await enqueueWork(a.store, a.registry, [ingest('OTC')]);
    const second = await a.createWorker({ concurrency: 2, pollMs: 50 }).drain();
    expect(second.failed).toBe(0);
    s = await states(a);
    expect(Object.values(s).every((state) => state === 'COMPLETE')).toBe(true);
    expect(Object.keys(s)).toHaveLength(3 + 3 + COMPUTES.length);

    // Each compute started only after the last normalize finished.
    const otcNormalize = (await a.store.findItem(FINRA_DOMAIN, 'normalize_week', `tier=OTC|week_ending=${WEEK}`))!;
    for (const c of COMPUTES) {
      const item = (await a.store.findItem(FINRA_DOMAIN, c, `week_ending=${WEEK}`))!;
      const [attempt] = await a.store.listAttempts(item.id);
      expect(attempt!.status).toBe('succeeded');
      expect(attempt!.startedAt.getTime()).toBeGreaterThanOrEqual(otcNormalize.finishedAt!.getTime());
    }
    const rows = await a.data.latest(hhi, { where: { week_ending: WEEK, symbol: 'AAPL' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hhi).toBeCloseTo(3800, 6); // 50² + 30² + 20²
    expect((await a.data.latest(venueShare, { where: { week_ending: WEEK } })).length).toBeGreaterThan(0);
  });
});
