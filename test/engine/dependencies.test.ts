import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import { PermanentError } from '../../src/core/errors.js';
import { definePipeline } from '../../src/core/pipeline.js';
import { blockedReason } from '../../src/engine/dependencies.js';
import { enqueueWork } from '../../src/engine/enqueue.js';

const TIERS = ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'];
const dirs: string[] = [];
const apps: SluiceApp[] = [];

/** Test-controlled behaviour of the upstream handler, per tier. */
const upstreamPlan = new Map<string, 'ok' | 'fail' | 'revise'>();
const runLog: string[] = [];

const ingest = definePipeline({
  domain: 'test.market',
  name: 'ingest',
  partition: z.object({ week_ending: z.string(), tier: z.enum(TIERS as [string, ...string[]]) }),
  params: z.object({}),
  retry: { maxAttempts: 1 },
  handler: ({ partition }) => {
    runLog.push(`ingest ${partition.tier}`);
    const plan = upstreamPlan.get(partition.tier!) ?? 'ok';
    if (plan === 'fail') throw new PermanentError(`source file for ${partition.tier} is truncated`);
    return plan === 'revise' ? { is_revision: true, capture_id: 'c2' } : { capture_id: 'c1' };
  },
});

const compute = definePipeline({
  domain: 'test.market',
  name: 'compute',
  partition: z.object({ week_ending: z.string() }),
  params: z.object({}),
  dependsOn: [{ pipeline: 'test.market.ingest', mapping: { kind: 'fan_in', dimension: 'tier', values: TIERS }, auto: true }],
  handler: ({ partition }) => {
    runLog.push(`compute ${partition.week_ending}`);
  },
});

async function newApp(): Promise<SluiceApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-deps-'));
  dirs.push(dir);
  const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, workers: { poll_interval: '50ms', lease: '5s' } });
  const app = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent', pipelines: [ingest, compute] });
  apps.push(app);
  return app;
}

afterEach(async () => {
  upstreamPlan.clear();
  runLog.length = 0;
  for (const app of apps.splice(0)) await app.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const week = '2025-12-19';
const enqueueTiers = (app: SluiceApp) =>
  enqueueWork(
    app.store,
    app.registry,
    TIERS.map((tier) => ({ pipeline: 'test.market.ingest', partition: { week_ending: week, tier } })),
  );

describe('dependencies between partitions (engine)', () => {
  it('fan-in over tiers: the downstream is enqueued WAITING and runs only after every tier is in', async () => {
    const app = await newApp();
    await enqueueTiers(app);
    const downstream = await app.store.findItem('test.market', 'compute', `week_ending=${week}`);
    expect(downstream?.state).toBe('WAITING');
    expect((await app.store.listDependencies(downstream!.id)).map((d) => d.partitionKey)).toEqual(TIERS.map((t) => `tier=${t}|week_ending=${week}`));
    const { failed } = await app.createWorker({ concurrency: 1 }).drain();
    expect(failed).toBe(0);
    expect(runLog.at(-1)).toBe(`compute ${week}`);
    expect(runLog.filter((l) => l.startsWith('ingest'))).toHaveLength(3);
    const events = await app.store.listEvents(downstream!.id);
    expect(events.map((e) => e.event)).toEqual(['enqueue', 'upstream_ready', 'claim', 'complete']);
  });

  it('a failed upstream leaves the downstream blocked with the reason; drain still ends; retrying the upstream unblocks it', async () => {
    const app = await newApp();
    upstreamPlan.set('OTC', 'fail');
    await enqueueTiers(app);
    const { failed } = await app.createWorker({ concurrency: 2 }).drain();
    expect(failed).toBe(1);
    const downstream = (await app.store.findItem('test.market', 'compute', `week_ending=${week}`))!;
    expect(downstream.state).toBe('WAITING');
    const reason = blockedReason(await app.store.listDependencies(downstream.id));
    expect(reason).toMatch(/^blocked: upstream test\.market\.ingest \[tier=OTC\|week_ending=2025-12-19\] is FAILED \(source file for OTC is truncated\)/);
    expect(runLog).not.toContain(`compute ${week}`);

    upstreamPlan.set('OTC', 'ok');
    const failedItem = (await app.store.findItem('test.market', 'ingest', `tier=OTC|week_ending=${week}`))!;
    await app.store.retry({ id: failedItem.id });
    expect((await app.createWorker({ concurrency: 2 }).drain()).failed).toBe(0);
    expect((await app.store.getItem(downstream.id))!.state).toBe('COMPLETE');
  });

  it('a restatement upstream re-runs the finished downstream partition', async () => {
    const app = await newApp();
    await enqueueTiers(app);
    await app.createWorker({ concurrency: 1 }).drain();
    expect(runLog.filter((l) => l.startsWith('compute'))).toHaveLength(1);
    // The vendor restates the OTC file: the upstream lands a revision.
    upstreamPlan.set('OTC', 'revise');
    const otc = (await app.store.findItem('test.market', 'ingest', `tier=OTC|week_ending=${week}`))!;
    await app.store.rerun(otc.id, 'test');
    await app.createWorker({ concurrency: 1 }).drain();
    expect(runLog.filter((l) => l.startsWith('compute'))).toHaveLength(2);
    const downstream = (await app.store.findItem('test.market', 'compute', `week_ending=${week}`))!;
    const rerunEvent = (await app.store.listEvents(downstream.id)).find((e) => e.event === 'rerun');
    expect(rerunEvent?.actor).toMatch(/restatement of test\.market\.ingest \[tier=OTC\|week_ending=2025-12-19\]/);
  });
});
