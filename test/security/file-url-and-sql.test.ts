/**
 * Two rules with a test each:
 * - a REST `file_url` cannot reach outside the data roots: `../`, an absolute path, a
 *   relative climb, a `file://` URL, or a symbolic link planted inside the root;
 * - every query is parameterised: SQL in partition values, filters and data `where` values
 *   is stored and matched as text on both backends, and the tables are still there.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { startHarness, type Harness } from '../api/support/harness.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { createPgTestSchema } from '../helpers/pg.js';

describe('REST file_url stays inside the data roots', () => {
  let h: Harness;
  const root = mkdtempSync(path.join(tmpdir(), 'sluice-fileurl-root-'));
  const outside = mkdtempSync(path.join(tmpdir(), 'sluice-fileurl-outside-'));
  beforeAll(async () => {
    writeFileSync(path.join(outside, 'tier1_20251219.csv'), 'secret');
    mkdirSync(path.join(root, 'ok'));
    // A link inside the root pointing out of it: the path looks confined, the file is not.
    symlinkSync(outside, path.join(root, 'planted'));
    h = await startHarness({ config: { access: { data_roots: [root], allowed_hosts: ['finra.example'] } } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  let week = 0;
  const enqueue = (fileUrl: string) =>
    h.call('POST', '/api/v1/work/enqueue', {
      // A new partition per call so an accepted one is not a no-op for the next.
      body: {
        domain: 'finra.otc_transparency',
        pipeline: 'ingest_week',
        partition_key: {
          week_ending: ['2025-12-19', '2025-12-12', '2025-12-05', '2025-11-28', '2025-11-21', '2025-11-14', '2025-11-07'][week++ % 7],
          tier: 'NMS_TIER_1',
        },
        params: { file_url: fileUrl },
      },
    });

  it.each([
    ['a ../ climb out of the root', () => path.join(root, 'ok') + '/../../' + path.basename(outside) + '/tier1_20251219.csv'],
    ['an absolute path elsewhere', () => path.join(outside, 'tier1_20251219.csv')],
    ['a relative climb', () => '../../../../etc/passwd'],
    ['a file:// URL', () => `file://${path.join(outside, 'tier1_20251219.csv')}`],
    ['a symbolic link planted in the root', () => path.join(root, 'planted', 'tier1_20251219.csv')],
  ])('%s is refused with 400 naming params.file_url; nothing is enqueued', async (_label, fileUrl) => {
    const before = await h.app.store.countItems();
    const res = await enqueue(fileUrl());
    expect(res.status, res.text).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('file_url');
    expect(await h.app.store.countItems()).toBe(before);
  });

  it('a file inside the root is accepted (the rule is not "refuse everything")', async () => {
    const res = await enqueue(path.join(root, 'ok', 'tier1_20251219.csv'));
    expect(res.status, res.text).toBe(201);
  });
});

const HOSTILE = [`x'); DROP TABLE work_items; --`, `' OR '1'='1`, `"; DELETE FROM attempts; --`, `\\'; SELECT pg_sleep(5); --`, `%' OR 1=1 --`];

describe.each(backendsUnderTest())('every query is parameterised (%s)', (backend) => {
  let h: Harness;
  let dropPg: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    let store;
    if (backend === 'postgres') {
      const schema = createPgTestSchema();
      store = await openStore(`${schema.connectionString}?schema=${schema.schema}`);
      dropPg = async () => {
        await store!.close();
        await schema.drop();
      };
    }
    h = await startHarness({ store });
  });
  afterAll(async () => {
    await h.close();
    await dropPg?.();
  });

  it('SQL in partition values, filters and data where-values is data: stored verbatim, matched exactly, tables intact', async () => {
    for (const [i, text] of HOSTILE.entries()) {
      const res = await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.noop', partition: { n: text, i: String(i) } } });
      expect(res.status, res.text).toBe(201);
      expect(res.body.item.partition.n).toBe(text);
    }
    // Filters with SQL in them match nothing (an injected OR would match everything)...
    for (const text of HOSTILE) {
      const list = await h.call('GET', `/api/v1/work/pending?state=ALL&domain=${encodeURIComponent(text)}`);
      expect(list.status, list.text).toBe(200);
      expect(list.body.total).toBe(0);
      const data = await h.call('GET', `/api/v1/data/${encodeURIComponent(text)}/x?partition_key=${encodeURIComponent(text)}`);
      expect([400, 404]).toContain(data.status);
    }
    // ...and the rows are all there, each found by its exact partition.
    const all = await h.call('GET', '/api/v1/work/pending?state=ALL&limit=100');
    expect(all.body.total).toBe(HOSTILE.length);
    for (const [i, text] of HOSTILE.entries()) {
      const found = await h.app.store.findItem(
        'ops',
        'noop',
        all.body.items.find((it: { partition: { i: string } }) => it.partition.i === String(i)).partition_key,
      );
      expect(found?.partition.n).toBe(text);
    }
    expect(await h.app.store.countItems()).toBe(HOSTILE.length);
  });
});
