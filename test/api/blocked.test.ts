import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError } from '../../src/core/errors.js';
import { definePipeline } from '../../src/core/pipeline.js';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { startHarness, type Harness } from './support/harness.js';

const upstream = definePipeline({
  domain: 'test.blk',
  name: 'upstream',
  partition: z.object({ date: z.string() }),
  params: z.object({}),
  handler: () => {
    throw new PermanentError('vendor file missing');
  },
});
const downstream = definePipeline({
  domain: 'test.blk',
  name: 'downstream',
  partition: z.object({ date: z.string() }),
  params: z.object({}),
  dependsOn: [{ pipeline: 'test.blk.upstream', auto: true }],
  handler: () => undefined,
});

describe('GET /api/v1/work/:id for a blocked downstream', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ pipelines: [upstream, downstream] });
  });
  afterAll(async () => {
    await h.close();
  });

  it('shows the upstream dependency and the reason it is blocked', async () => {
    await enqueueWork(h.app.store, h.app.registry, [{ pipeline: 'test.blk.upstream', partition: { date: '2026-01-05' } }]);
    expect((await h.app.createWorker({ concurrency: 1 }).drain()).failed).toBe(1);
    const item = (await h.app.store.findItem('test.blk', 'downstream', 'date=2026-01-05'))!;
    const res = await h.call('GET', `/api/v1/work/${item.id}`);
    expect(res.status).toBe(200);
    expect(res.body.item.state).toBe('WAITING');
    expect(res.body.dependencies).toEqual([expect.objectContaining({ pipeline: 'test.blk.upstream', partition_key: 'date=2026-01-05', state: 'FAILED' })]);
    expect(res.body.blocked_reason).toMatch(/^blocked: upstream test\.blk\.upstream \[date=2026-01-05\] is FAILED \(vendor file missing\)/);
    // A finished item has no blocked reason.
    const up = (await h.app.store.findItem('test.blk', 'upstream', 'date=2026-01-05'))!;
    expect((await h.call('GET', `/api/v1/work/${up.id}`)).body.blocked_reason).toBeNull();
  });
});
