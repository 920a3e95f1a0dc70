/**
 * Shared by the "database stops taking writes" tests (test/engine/disk-full.test.ts on
 * SQLite, test/engine/pg-read-only.test.ts on PostgreSQL): a pipeline landing 300-row
 * captures, and the check that nothing was dropped or half-written once writes work again.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../src/core/pipeline.js';
import type { Dataset } from '../../src/data/dataset.js';
import { createDataStore } from '../../src/data/index.js';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from './backends.js';

export const ROWS = 300;
export const BULK_DATASET: Dataset = {
  domain: 'test',
  name: 'bulk',
  columns: [
    { name: 'i', type: 'integer' },
    { name: 'text', type: 'text' },
  ],
  primaryKey: ['i'],
};
export const bulk = definePipeline({
  domain: 'test',
  name: 'bulk',
  params: z.object({}),
  // A generous budget: the point is that the engine keeps going, not how many tries it takes.
  retry: { maxAttempts: 100, baseDelayMs: 100, factor: 1, maxDelayMs: 100, jitter: 0 },
  handler: async ({ partition, data }) => {
    await new Promise((r) => setTimeout(r, 150));
    const rows = Array.from({ length: ROWS }, (_, i) => ({ i, text: `${partition.n}:${i}:${'x'.repeat(100)}` }));
    const landed = await data.land(BULK_DATASET, { partition, stage: 'bulk', sourceBytes: `bulk ${partition.n}`, rows });
    return { capture_id: landed.capture_id };
  },
});

/** Every item COMPLETE with exactly one succeeded attempt and none running, and its one
 * landed capture holding all its rows. */
export async function expectAllLandedOnce(store: Store, ids: number[]): Promise<void> {
  await waitUntil(
    async () => (await Promise.all(ids.map((id) => store.getItem(id).catch(() => null)))).every((i) => i?.state === 'COMPLETE'),
    30_000,
    'every item COMPLETE after writes work again',
    100,
  );
  const data = createDataStore(store);
  for (const id of ids) {
    const item = (await store.getItem(id))!;
    const attempts = await store.listAttempts(id);
    expect(attempts.filter((a) => a.status === 'running')).toEqual([]);
    expect(attempts.filter((a) => a.status === 'succeeded')).toHaveLength(1);
    const captures = await data.listCaptures({ domain: 'test', partitionKey: item.partitionKey, status: 'landed' });
    expect(captures).toHaveLength(1);
    expect((await data.asOf(BULK_DATASET, { capture_id: captures[0]!.capture_id })).length).toBe(ROWS);
  }
}
