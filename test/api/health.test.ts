import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/data/dataset.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startHarness, type Harness } from './support/harness.js';

describe('probes, docs, manifest, unknown routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('GET /healthz answers 200', async () => {
    const res = await h.call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', worker: null, scheduler_attached: false });
  });

  it('GET /readyz answers 200 when the database answers and migrations are current', async () => {
    const res = await h.call('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', database: 'sqlite', reachable: true, migrations: { status: 'current' } });
    expect(res.body.migrations.current).toBe(res.body.migrations.latest);
  });

  it('GET /readyz answers 503 when the schema is behind', async () => {
    const db = (h.app.store as SqliteStore).database;
    const saved = db.prepare('SELECT * FROM sluice_migrations ORDER BY version DESC LIMIT 1').get() as { version: number; name: string; applied_at: number };
    db.prepare('DELETE FROM sluice_migrations WHERE version = ?').run(saved.version);
    try {
      const res = await h.call('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        status: 'unavailable',
        reachable: true,
        migrations: { status: 'behind', current: saved.version - 1, latest: saved.version },
      });
      expect(res.body.error).toMatch(/schema is at migration/);
    } finally {
      db.prepare('INSERT INTO sluice_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(saved.version, saved.name, saved.applied_at);
    }
    expect((await h.call('GET', '/readyz')).status).toBe(200);
  });

  it('GET /api/v1/manifest and /captures report landed captures; a restatement keeps both captures', async () => {
    const ds = defineDataset({
      domain: 'test.api',
      name: 'prices',
      columns: [
        { name: 'symbol', type: 'text' },
        { name: 'close', type: 'real' },
      ],
      primaryKey: ['symbol'],
    });
    const land = (bytes: string, rows: { symbol: string; close: number }[], capturedAt: Date) =>
      h.app.data.land(ds, {
        partition: { date: '2026-01-05' },
        partitionKey: 'date=2026-01-05',
        stage: 'ingest',
        sourceBytes: bytes,
        rows,
        source: 'test',
        capturedAt,
      });
    await land('v1', [{ symbol: 'AAPL', close: 1 }], new Date('2026-01-05T21:00:00Z'));
    await land(
      'v2',
      [
        { symbol: 'AAPL', close: 2 },
        { symbol: 'MSFT', close: 3 },
      ],
      new Date('2026-01-06T21:00:00Z'),
    );

    const manifest = await h.call('GET', '/api/v1/manifest?domain=test.api');
    expect(manifest.status).toBe(200);
    expect(manifest.body.entries).toHaveLength(1);
    expect(manifest.body.entries[0]).toMatchObject({ domain: 'test.api', partition_key: 'date=2026-01-05', stage: 'ingest', row_count: 2, dataset: 'prices' });
    expect(manifest.body.entries[0].capture_id).toMatch(/^test\.api:2026-01-05:20260106/);

    const captures = await h.call('GET', '/api/v1/captures?domain=test.api&partition_key=date%3D2026-01-05');
    expect(captures.status).toBe(200);
    expect(captures.body.captures).toHaveLength(2);
    const revision = captures.body.captures.find((c: { is_revision: boolean }) => c.is_revision);
    expect(revision.revision_summary).toEqual({ rows_added: 1, rows_removed: 0, rows_changed: 1 });

    const bad = await h.call('GET', '/api/v1/manifest?bogus=1');
    expect(bad.status).toBe(400);
    expect((await h.call('GET', '/api/v1/captures')).status).toBe(400);
  });

  it('serves the OpenAPI document at /docs/json with every route, and the UI at /docs', async () => {
    const json = await h.call('GET', '/docs/json');
    expect(json.status).toBe(200);
    expect(json.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(json.body.paths);
    for (const p of [
      '/api/v1/work/enqueue',
      '/api/v1/work/pending',
      '/api/v1/work/{id}',
      '/api/v1/work/retry',
      '/api/v1/work/cancel',
      '/api/v1/runs',
      '/api/v1/schedules',
      '/api/v1/schedules/{name}/trigger',
      '/api/v1/pipelines/{name}/trigger',
      '/api/v1/scheduler/start',
      '/api/v1/scheduler/stop',
      '/api/v1/scheduler/status',
      '/api/v1/manifest',
      '/api/v1/grid/{pipeline}',
      '/metrics',
      '/healthz',
      '/readyz',
    ]) {
      expect(paths).toContain(p);
    }
    expect(paths.some((p) => p.startsWith('/items') || p === '/')).toBe(false);
    const enqueue = json.body.paths['/api/v1/work/enqueue'].post;
    expect(Object.keys(enqueue.responses)).toEqual(expect.arrayContaining(['200', '201', '400']));
    expect(enqueue.requestBody.content['application/json'].schema.properties.pipeline.type).toBe('string');
    const pending = json.body.paths['/api/v1/work/pending'].get;
    expect(pending.parameters.find((p: any) => p.name === 'state').description).toMatch(/Default when absent: PENDING,RETRY_WAIT,WAITING/);
    const ui = await h.call('GET', '/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/swagger/i);
  });

  it('unknown routes answer 404 JSON', async () => {
    for (const url of ['/api/v1/nope', '/api/v2/work/pending', '/nothing-here']) {
      const res = await h.call('GET', url);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', field: 'path' });
    }
    const del = await h.call('DELETE', '/api/v1/work/1');
    expect(del.status).toBe(404);
  });

  it('GET /readyz answers 503 when the database cannot be reached', async () => {
    await h.app.store.close();
    const res = await h.call('GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'unavailable', reachable: false });
    expect((await h.call('GET', '/healthz')).status).toBe(200);
  });
});
