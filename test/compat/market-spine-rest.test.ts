import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/support/harness.js';

/** Market Spine's request bodies (seed 003) beside Sluice's own, over a real socket and SQLite file. */
describe('REST in Market Spine vocabulary', () => {
  let h: Harness;
  const dataRoot = mkdtempSync(path.join(tmpdir(), 'sluice-ms-root-'));
  beforeAll(async () => {
    h = await startHarness({ config: { access: { data_roots: [dataRoot], allowed_hosts: ['finra.example'] } } });
  });
  afterAll(async () => h.close());

  const enqueue = (body: unknown) => h.call('POST', '/api/v1/work/enqueue', { body });
  const ingest = (partition: object, params?: object, extra: object = {}) => ({
    domain: 'finra.otc_transparency',
    pipeline: 'ingest_week',
    partition_key: partition,
    ...(params ? { params } : {}),
    ...extra,
  });

  it("takes the guide's body verbatim: domain + short pipeline, partition_key, params.tier, desired_at, priority", async () => {
    const res = await enqueue(
      ingest({ week_ending: '2025-12-19', tier: 'NMS_TIER_1' }, { tier: 'NMS_TIER_1' }, { desired_at: '2025-12-23T10:30:00Z', priority: 50 }),
    );
    expect(res.status).toBe(201);
    expect(res.body.item).toMatchObject({
      domain: 'finra.otc_transparency',
      pipeline: 'ingest_week',
      partition: { week_ending: '2025-12-19', tier: 'NMS_TIER_1' },
      priority: 50,
      desired_at: '2025-12-23T10:30:00.000Z',
    });
    expect(res.body.work_item_id).toBe(res.body.item.id);
    expect(res.body.item.params).not.toHaveProperty('tier');
  });

  it('reads a Monday week_ending as the week ending the Friday before, with a warning', async () => {
    const res = await enqueue(ingest({ week_ending: '2025-12-22', tier: 'OTC' }));
    expect(res.status).toBe(201);
    expect(res.body.item.partition.week_ending).toBe('2025-12-19');
    expect(res.body.warnings[0]).toMatch(/2025-12-22 is a Monday.*2025-12-19/);
  });

  it('400s a params.tier that differs from the partition, naming it', async () => {
    const res = await enqueue(ingest({ week_ending: '2025-12-19', tier: 'NMS_TIER_2' }, { tier: 'OTC' }));
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('params.tier');
    expect(res.body.error.message).toMatch(/NMS_TIER_2/);
  });

  it('400s a param the pipeline does not declare, naming it', async () => {
    const res = await enqueue(ingest({ week_ending: '2025-12-19', tier: 'NMS_TIER_2' }, { colour: 'blue' }));
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('colour');
  });

  it('takes file_url on an allowed host or inside a data root, and 400s one outside', async () => {
    const ok = await enqueue(ingest({ week_ending: '2025-12-12', tier: 'NMS_TIER_1' }, { file_url: 'https://finra.example/otc/tier1_20251215.csv' }));
    expect(ok.status).toBe(201);
    expect(ok.body.item.params.file_url).toBe('https://finra.example/otc/tier1_20251215.csv');
    const inRoot = await enqueue(ingest({ week_ending: '2025-12-12', tier: 'NMS_TIER_2' }, { file_url: path.join(dataRoot, 'tier2.csv') }));
    expect(inRoot.status).toBe(201);
    const badHost = await enqueue(ingest({ week_ending: '2025-12-12', tier: 'OTC' }, { file_url: 'https://evil.example/x.csv' }));
    expect(badHost.status).toBe(400);
    expect(JSON.stringify(badHost.body.error)).toMatch(/file_url.*allowed host/s);
    const badPath = await enqueue(ingest({ week_ending: '2025-12-05', tier: 'OTC' }, { file_url: '/etc/passwd' }));
    expect(badPath.status).toBe(400);
    expect(JSON.stringify(badPath.body.error)).toMatch(/data root/);
  });

  it('enqueues an analytic with {week_ending} alone: one item per week across all tiers', async () => {
    const res = await enqueue({ domain: 'finra.otc_transparency', pipeline: 'compute_hhi', partition_key: { week_ending: '2025-11-14' } });
    expect(res.status).toBe(201);
    expect(res.body.item.partition).toEqual({ week_ending: '2025-11-14' });
  });

  it('400s both spellings of one field', async () => {
    const res = await enqueue({ pipeline: 'ops.noop', partition: { a: '1' }, partition_key: { a: '1' } });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('partition_key');
  });

  it('retries and cancels by work_item_id; a one-state list is keyed by that state', async () => {
    const item = (await enqueue({ domain: 'ops', pipeline: 'noop', partition_key: { n: 'c' }, desired_at: '2099-01-01T00:00:00Z' })).body.item;
    const cancel = await h.call('POST', '/api/v1/work/cancel', { body: { work_item_id: item.id } });
    expect(cancel.body).toMatchObject({ changed: true, item: { state: 'CANCELLED' } });
    const listed = await h.call('GET', '/api/v1/work/pending?state=CANCELLED');
    expect(listed.body.items[0].partition_key).toBe('n=c'); // Sluice's own list is unchanged
    expect(listed.body.cancelled[0]).toMatchObject({
      id: item.id,
      partition_key: { n: 'c' },
      partition_key_text: 'n=c',
      attempt_count: 0,
      last_error: null,
      last_error_at: null,
    });
    const retry = await h.call('POST', '/api/v1/work/retry', { body: { work_item_id: item.id } });
    expect(retry.body.items[0]).toMatchObject({ id: item.id, state: 'PENDING' });
    const both = await h.call('POST', '/api/v1/work/cancel', { body: { id: item.id, work_item_id: item.id } });
    expect(both.status).toBe(400);
  });

  it('answers the manifest readiness query with a top-level row_count (0 before anything landed)', async () => {
    const res = await h.call(
      'GET',
      `/api/v1/manifest?domain=finra.otc_transparency&partition_key=${encodeURIComponent('{"week_ending":"2025-12-22","tier":"NMS_TIER_1"}')}&stage=RAW`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ entries: [], row_count: 0 });
  });
});
