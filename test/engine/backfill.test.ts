import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import { SluiceError } from '../../src/core/errors.js';
import { definePipeline } from '../../src/core/pipeline.js';
import { BACKFILL_DEFAULT_PRIORITY, planBackfill, runBackfill } from '../../src/engine/backfill.js';

const weekly = definePipeline({
  domain: 'test.bf',
  name: 'weekly',
  partition: z.object({ week_ending: z.string(), tier: z.string() }),
  params: z.object({}),
  handler: () => undefined,
});
const daily = definePipeline({
  domain: 'test.bf',
  name: 'daily',
  partition: z.object({ date: z.string() }),
  params: z.object({}),
  retry: { maxAttempts: 1 },
  handler: ({ partition }) => {
    if (partition.date === '2025-11-26') throw new Error('source down');
  },
});

const apps: SluiceApp[] = [];
const dirs: string[] = [];
async function newApp(): Promise<SluiceApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bf-'));
  dirs.push(dir);
  const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, workers: { poll_interval: '50ms' } });
  const app = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent', pipelines: [weekly, daily] });
  apps.push(app);
  return app;
}
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('backfill', () => {
  it('weekly pipelines get the Fridays in range, crossed with fixed keys, at backfill priority', async () => {
    const app = await newApp();
    const result = await runBackfill(app.store, app.registry, {
      pipeline: 'test.bf.weekly',
      from: '2025-12-01',
      to: '2025-12-20',
      fixed: [{ tier: 'OTC' }, { tier: 'NMS_TIER_1' }],
    });
    expect(result).toMatchObject({ total: 6, created: 6, existing: 0, requeued: 0 });
    const items = await app.store.listItems({ order: 'oldest' });
    expect(items.map((i) => i.partition.week_ending)).toEqual(['2025-12-05', '2025-12-05', '2025-12-12', '2025-12-12', '2025-12-19', '2025-12-19']);
    expect(items.every((i) => i.priority === BACKFILL_DEFAULT_PRIORITY)).toBe(true);
  });

  it('daily pipelines get XNYS sessions (Thanksgiving skipped); reprocess modes decide what happens to existing items', async () => {
    const app = await newApp();
    const request = { pipeline: 'test.bf.daily', from: '2025-11-24', to: '2025-11-28' };
    expect([...planBackfill(app.registry, request).partitions()].map((p) => p.date)).toEqual(['2025-11-24', '2025-11-25', '2025-11-26', '2025-11-28']);
    await runBackfill(app.store, app.registry, request);
    expect((await app.createWorker({ concurrency: 2 }).drain()).failed).toBe(1);

    // missing (default): nothing changes for existing partitions.
    expect(await runBackfill(app.store, app.registry, request)).toMatchObject({ created: 0, existing: 4, requeued: 0 });
    expect(await app.store.countItems({ state: 'PENDING' })).toBe(0);
    // failed: only the FAILED one goes back.
    expect(await runBackfill(app.store, app.registry, { ...request, reprocess: 'failed' })).toMatchObject({ requeued: 1 });
    expect((await app.store.listItems({ state: 'PENDING' })).map((i) => i.partition.date)).toEqual(['2025-11-26']);
    // all: every finished one goes back.
    expect(await runBackfill(app.store, app.registry, { ...request, reprocess: 'all' })).toMatchObject({ requeued: 3 });
    expect(await app.store.countItems({ state: 'PENDING' })).toBe(4);
  });

  it('a partition range over integers or dates works; --calendar none gives every day', async () => {
    const app = await newApp();
    expect(planBackfill(app.registry, { pipeline: 'ops.noop', partitionRange: 'n=1..5' }).total).toBe(5);
    expect(
      [...planBackfill(app.registry, { pipeline: 'test.bf.daily', from: '2025-11-22', to: '2025-11-23', calendar: 'none' }).partitions()].map((p) => p.date),
    ).toEqual(['2025-11-22', '2025-11-23']);
  });

  const bad: [string, Parameters<typeof planBackfill>[1], RegExp][] = [
    ['a reversed range', { pipeline: 'test.bf.daily', from: '2025-12-31', to: '2025-12-01' }, /--to "2025-12-01": must not be before/],
    ['an empty range (a weekend has no sessions)', { pipeline: 'test.bf.daily', from: '2025-11-22', to: '2025-11-23' }, /contain at least one session/],
    ['a range with no Friday', { pipeline: 'test.bf.weekly', from: '2025-12-01', to: '2025-12-04', fixed: [{ tier: 'OTC' }] }, /contain at least one Friday/],
    ['an invalid date', { pipeline: 'test.bf.daily', from: '2025-02-30', to: '2025-03-05' }, /2025-02-30/],
    ['a malformed partition range', { pipeline: 'ops.noop', partitionRange: 'n=5' }, /--partition-range: "n=5" is invalid: must be key=A\.\.B/],
    ['a reversed integer range', { pipeline: 'ops.noop', partitionRange: 'n=9..2' }, /not be reversed/],
    ['an unknown pipeline', { pipeline: 'test.bf.nope', from: '2025-12-01', to: '2025-12-05' }, /name a registered pipeline/],
  ];
  for (const [label, request, message] of bad) {
    it(`rejects ${label} with a clear error and enqueues nothing`, async () => {
      const app = await newApp();
      expect(() => planBackfill(app.registry, request)).toThrow(SluiceError);
      expect(() => planBackfill(app.registry, request)).toThrow(message);
      await expect(runBackfill(app.store, app.registry, request)).rejects.toThrow(message);
      expect(await app.store.countItems()).toBe(0);
    });
  }
});
