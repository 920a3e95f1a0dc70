import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, testPipelines, waitFor, type Harness } from './support/harness.js';

/** Work routes over a real socket against a real SQLite file. */
describe('REST API: work items', () => {
  let h: Harness;
  const { pipelines } = testPipelines();

  beforeAll(async () => {
    h = await startHarness({ pipelines });
  });
  afterAll(async () => {
    await h.close();
  });

  const count = () => h.app.store.countItems();

  describe('POST /api/v1/work/enqueue', () => {
    it('answers 201 with the new item, then 200 with the same existing item for a duplicate', async () => {
      const first = await h.call('POST', '/api/v1/work/enqueue', {
        body: { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-01-05', symbol: 'AAPL' }, priority: 5 },
      });
      expect(first.status).toBe(201);
      expect(first.body.created).toBe(true);
      expect(first.body.item).toMatchObject({
        domain: 'prices',
        pipeline: 'daily_ohlcv',
        partition_key: 'date=2026-01-05|symbol=AAPL',
        state: 'PENDING',
        priority: 5,
        params: { source: 'file' },
      });

      const before = await count();
      // Same partition, keys in another order, different priority: still the same item, unchanged.
      const dup = await h.call('POST', '/api/v1/work/enqueue', {
        body: { pipeline: 'prices.daily_ohlcv', partition: { symbol: 'AAPL', date: '2026-01-05' }, priority: 9 },
      });
      expect(dup.status).toBe(200);
      expect(dup.body.created).toBe(false);
      expect(dup.body.item.id).toBe(first.body.item.id);
      expect(dup.body.item.priority).toBe(5);
      expect(await count()).toBe(before);
    });

    it('accepts at, max_attempts and base_delay', async () => {
      const at = '2030-01-01T00:00:00.000Z';
      const res = await h.call('POST', '/api/v1/work/enqueue', {
        body: { pipeline: 'ops.noop', partition: { run: 'later' }, at, max_attempts: 7, base_delay: '2s' },
      });
      expect(res.status).toBe(201);
      expect(res.body.item).toMatchObject({ desired_at: at, max_attempts: 7 });
    });

    it('accepts a batch {items:[...]}: 201 when something was created, 200 when all existed', async () => {
      const items = [
        { pipeline: 'ops.noop', partition: { batch: 'a' } },
        { pipeline: 'ops.noop', partition: { batch: 'b' } },
      ];
      const first = await h.call('POST', '/api/v1/work/enqueue', { body: { items } });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ created: 2, existing: 0 });
      expect(first.body.results.map((r: any) => r.item.partition_key)).toEqual(['batch=a', 'batch=b']);
      const again = await h.call('POST', '/api/v1/work/enqueue', { body: { items: [...items, { pipeline: 'ops.noop', partition: { batch: 'c' } }] } });
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ created: 1, existing: 2 });
      const all = await h.call('POST', '/api/v1/work/enqueue', { body: { items } });
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ created: 0, existing: 2 });
    });

    const bad: Array<[string, { body?: unknown; raw?: string; headers?: Record<string, string> }, string, RegExp]> = [
      [
        'unknown pipeline',
        { body: { pipeline: 'prices.nope', partition: { date: '2026-01-05', symbol: 'AAPL' } } },
        'pipeline',
        /registered pipeline.*prices\.daily_ohlcv/,
      ],
      ['pipeline that is not domain.name', { body: { pipeline: 'nodots' } }, 'pipeline', /domain\.name/],
      ['missing pipeline', { body: { partition: { a: '1' } } }, 'pipeline', /be given/],
      ['pipeline of the wrong type', { body: { pipeline: 42 } }, 'pipeline', /pipeline name/],
      [
        'partition value failing the pipeline schema',
        { body: { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-13-45x', symbol: 'AAPL' } } },
        'partition.date',
        /date YYYY-MM-DD/,
      ],
      ['partition missing a key', { body: { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-01-05' } } }, 'partition.symbol', /.+/],
      ['partition that is not an object', { body: { pipeline: 'ops.noop', partition: 'date=2026-01-05' } }, 'partition', /object of key\/value pairs/],
      [
        'partition key that is not an identifier',
        { body: { pipeline: 'ops.noop', partition: { 'bad key': 'x' } } },
        'partition.bad key',
        /letters, digits and _/,
      ],
      ['partition value that is not a string', { body: { pipeline: 'ops.noop', partition: { a: true } } }, 'partition.a', /string or a number/],
      ['params failing the pipeline schema', { body: { pipeline: 'ops.fail', partition: { a: '1' }, params: { times: 'twice' } } }, 'params.times', /number/],
      [
        'params enum',
        { body: { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-01-05', symbol: 'MSFT' }, params: { source: 'ftp' } } },
        'params.source',
        /file|http/,
      ],
      ['params that are not an object', { body: { pipeline: 'ops.noop', params: [1, 2] } }, 'params', /JSON object/],
      ['priority that is not a number', { body: { pipeline: 'ops.noop', priority: 'high' } }, 'priority', /integer/],
      ['priority that is not an integer', { body: { pipeline: 'ops.noop', priority: 1.5 } }, 'priority', /integer/],
      ['max_attempts below 1', { body: { pipeline: 'ops.noop', max_attempts: 0 } }, 'max_attempts', /at least 1/],
      ['at that is not an instant', { body: { pipeline: 'ops.noop', at: 'tomorrow-ish' } }, 'at', /ISO-8601/],
      ['bad base_delay', { body: { pipeline: 'ops.noop', base_delay: '5x' } }, 'base_delay', /duration/],
      ['misspelt field', { body: { pipeline: 'ops.noop', max_attemps: 3 } }, 'max_attemps', /unknown field/],
      ['non-JSON body', { raw: '{"pipeline": "ops.noop",', headers: { 'content-type': 'application/json' } }, 'body', /valid JSON/],
      ['JSON that is not an object', { body: ['ops.noop'] }, 'body', /object/],
      ['text/plain body', { raw: 'pipeline=ops.noop', headers: { 'content-type': 'text/plain' } }, 'body', /object/],
      [
        'batch with one bad item (nothing is enqueued)',
        {
          body: {
            items: [
              { pipeline: 'ops.noop', partition: { x: 'ok' } },
              { pipeline: 'ops.noop', partition: { x: '' } },
            ],
          },
        },
        '[1].partition.x',
        /non-empty/,
      ],
      ['batch item with an unknown field', { body: { items: [{ pipeline: 'ops.noop', partiton: {} }] } }, 'items[0].partiton', /unknown field/],
      ['batch mixed with single fields', { body: { pipeline: 'ops.noop', items: [{ pipeline: 'ops.noop' }] } }, 'pipeline', /beside items/],
      ['empty batch', { body: { items: [] } }, 'items', /at least one/],
    ];
    for (const [name, request, field, rule] of bad) {
      it(`400 for ${name}, naming ${field}, and the queue is untouched`, async () => {
        const before = await count();
        const res = await h.call('POST', '/api/v1/work/enqueue', request);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
        expect(res.body.error).toMatchObject({ code: 'invalid_input', field });
        expect(res.body.error.rule).toMatch(rule);
        expect(res.body.error.message).toContain(field);
        expect(await count()).toBe(before);
      });
    }

    it('415 for a content type the API does not speak, and the queue is untouched', async () => {
      const before = await count();
      const res = await h.call('POST', '/api/v1/work/enqueue', { raw: '<pipeline>ops.noop</pipeline>', headers: { 'content-type': 'application/xml' } });
      expect(res.status).toBe(415);
      expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', field: 'content-type' });
      expect(await count()).toBe(before);
    });
  });

  describe('GET /api/v1/work/pending', () => {
    let ids: Record<string, number>;
    beforeAll(async () => {
      const enqueue = async (partition: Record<string, string>, extra: Record<string, unknown> = {}) =>
        (await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.noop', partition, ...extra } })).body.item.id as number;
      ids = {
        pending: await enqueue({ list: 'pending' }),
        future: await enqueue({ list: 'future' }, { at: '2031-01-01T00:00:00Z' }),
        cancelled: await enqueue({ list: 'cancelled' }),
        failed: (await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.fail', partition: { list: 'failed' }, max_attempts: 1 } })).body.item.id,
        complete: await enqueue({ list: 'complete' }),
      };
      await h.app.store.cancel(ids.cancelled!);
      // Run the two that should finish with a real worker, only for them.
      const worker = h.app.createWorker({ concurrency: 2, pollMs: 20 });
      const outcomes = await worker.runItems([ids.failed!, ids.complete!]);
      expect(outcomes.map((o) => o?.status)).toEqual(['failed', 'succeeded']);
    });

    it('defaults to PENDING, RETRY_WAIT and WAITING (waiting to run), newest first', async () => {
      const res = await h.call('GET', '/api/v1/work/pending?domain=ops&limit=1000');
      expect(res.status).toBe(200);
      expect(res.body.states).toEqual(['PENDING', 'RETRY_WAIT', 'WAITING']);
      const got = res.body.items.map((i: any) => i.id);
      expect(got).toContain(ids.pending);
      expect(got).toContain(ids.future);
      expect(got).not.toContain(ids.cancelled);
      expect(got).not.toContain(ids.failed);
      expect(got).not.toContain(ids.complete);
      expect([...got].sort((a: number, b: number) => b - a)).toEqual(got);
      expect(res.body.total).toBe(got.length);
    });

    it('filters by state (comma list, repeated, ALL), domain and pipeline', async () => {
      const failed = await h.call('GET', '/api/v1/work/pending?state=FAILED');
      expect(failed.body.items.map((i: any) => i.id)).toEqual([ids.failed]);
      expect(failed.body.items[0].last_error).toMatch(/deliberate failure/);
      const two = await h.call('GET', '/api/v1/work/pending?state=failed,COMPLETE&limit=1000');
      expect(new Set(two.body.items.map((i: any) => i.id))).toEqual(new Set([ids.failed, ids.complete]));
      const repeated = await h.call('GET', '/api/v1/work/pending?state=FAILED&state=CANCELLED');
      expect(new Set(repeated.body.items.map((i: any) => i.id))).toEqual(new Set([ids.failed, ids.cancelled]));
      const all = await h.call('GET', '/api/v1/work/pending?state=ALL&limit=1000');
      expect(all.body.total).toBe(await count());
      const full = await h.call('GET', '/api/v1/work/pending?state=ALL&pipeline=ops.fail');
      expect(full.body.items.map((i: any) => i.id)).toEqual([ids.failed]);
      const bare = await h.call('GET', '/api/v1/work/pending?state=ALL&domain=ops&pipeline=fail');
      expect(bare.body.items.map((i: any) => i.id)).toEqual([ids.failed]);
      const prices = await h.call('GET', '/api/v1/work/pending?state=ALL&domain=prices');
      expect(prices.body.items.every((i: any) => i.domain === 'prices')).toBe(true);
    });

    it('pages with limit and offset; total counts every match', async () => {
      const all = await h.call('GET', '/api/v1/work/pending?state=ALL&limit=1000');
      const page1 = await h.call('GET', '/api/v1/work/pending?state=ALL&limit=2');
      const page2 = await h.call('GET', '/api/v1/work/pending?state=ALL&limit=2&offset=2');
      expect(page1.body.items).toHaveLength(2);
      expect([...page1.body.items, ...page2.body.items].map((i: any) => i.id)).toEqual(all.body.items.slice(0, 4).map((i: any) => i.id));
      expect(page2.body).toMatchObject({ total: all.body.total, limit: 2, offset: 2 });
    });

    for (const [query, field, rule] of [
      ['state=BOGUS', 'state', /be one of WAITING, PENDING/],
      ['state=PENDING,nope', 'state', /be one of/],
      ['limit=0', 'limit', /from 1 to 1000/],
      ['limit=abc', 'limit', /from 1 to 1000/],
      ['offset=-1', 'offset', /at least 0/],
      ['order=sideways', 'order', /newest or oldest/],
      ['colour=red', 'colour', /unknown field/],
      ['pipeline=ops.fail&domain=prices', 'pipeline', /domain given/],
    ] as const) {
      it(`400 for ?${query}, naming ${field}`, async () => {
        const res = await h.call('GET', `/api/v1/work/pending?${query}`);
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_input', field });
        expect(res.body.error.rule).toMatch(rule);
      });
    }

    it('GET /api/v1/work/:id returns the item with attempts (error, output tail) and events', async () => {
      const res = await h.call('GET', `/api/v1/work/${ids.failed}`);
      expect(res.status).toBe(200);
      expect(res.body.item).toMatchObject({ id: ids.failed, state: 'FAILED', attempts: 1, max_attempts: 1 });
      expect(res.body.attempts).toHaveLength(1);
      expect(res.body.attempts[0]).toMatchObject({ attempt_no: 1, status: 'failed' });
      expect(res.body.attempts[0].error).toMatch(/deliberate failure/);
      expect(res.body.attempts[0].duration_ms).toBeGreaterThanOrEqual(0);
      expect(res.body.events.map((e: any) => e.to_state)).toEqual(['PENDING', 'RUNNING', 'FAILED']);
      expect(res.body.dependencies).toEqual([]);
    });

    it('GET /api/v1/work/:id: 404 JSON for an unknown id, 400 for a non-numeric one', async () => {
      const missing = await h.call('GET', '/api/v1/work/987654');
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: 'not_found', field: 'id', value: 987654 });
      const bad = await h.call('GET', '/api/v1/work/abc');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'invalid_input', field: 'id', value: 'abc' });
      const zero = await h.call('GET', '/api/v1/work/0');
      expect(zero.status).toBe(400);
    });
  });

  describe('retry and cancel', () => {
    let failedA: number;
    let failedB: number;
    let pending: number;
    let complete: number;
    beforeEach(async () => {
      const enq = async (pipeline: string, partition: Record<string, string>) =>
        (await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline, partition, max_attempts: 1 } })).body.item.id as number;
      const tag = String(Math.random()).slice(2, 10);
      failedA = await enq('ops.fail', { rc: `a${tag}` });
      failedB = await enq('ops.fail', { rc: `b${tag}` });
      pending = await enq('ops.noop', { rc: `p${tag}` });
      complete = await enq('ops.noop', { rc: `c${tag}` });
      const worker = h.app.createWorker({ concurrency: 1, pollMs: 20 });
      await worker.runItems([failedA, failedB, complete]);
    });

    it('POST work/retry {id} puts a FAILED item back to PENDING with a fresh budget', async () => {
      const res = await h.call('POST', '/api/v1/work/retry', { body: { id: failedA } });
      expect(res.status).toBe(200);
      expect(res.body.retried).toBe(1);
      expect(res.body.items[0]).toMatchObject({ id: failedA, state: 'PENDING', attempts: 0 });
      expect((await h.app.store.getItem(failedA))!.state).toBe('PENDING');
    });

    it('POST work/retry {domain, pipeline} retries every FAILED item there', async () => {
      const res = await h.call('POST', '/api/v1/work/retry', { body: { domain: 'ops', pipeline: 'fail' } });
      expect(res.status).toBe(200);
      const ids = res.body.items.map((i: any) => i.id);
      expect(ids).toEqual(expect.arrayContaining([failedA, failedB]));
      expect(res.body.items.every((i: any) => i.state === 'PENDING')).toBe(true);
      const none = await h.call('POST', '/api/v1/work/retry', { body: { pipeline: 'ops.fail' } });
      expect(none.body).toMatchObject({ retried: 0, items: [] });
    });

    it('POST work/retry: 409 for an item that is not FAILED/CANCELLED, 404 for unknown, 400 for bad bodies', async () => {
      const conflict = await h.call('POST', '/api/v1/work/retry', { body: { id: pending } });
      expect(conflict.status).toBe(409);
      expect(conflict.body.error).toMatchObject({ code: 'invalid_transition', field: 'state', value: 'PENDING' });
      expect((await h.app.store.getItem(pending))!.state).toBe('PENDING');
      const missing = await h.call('POST', '/api/v1/work/retry', { body: { id: 999999 } });
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: 'not_found', field: 'id' });
      for (const [body, field] of [
        [{}, 'id'],
        [{ id: 'x' }, 'id'],
        [{ id: failedA, domain: 'ops' }, 'id'],
        [{ pipeline: 'fail' }, 'id'],
        [{ ids: [1] }, 'ids'],
      ] as const) {
        const res = await h.call('POST', '/api/v1/work/retry', { body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.field).toBe(field);
      }
      expect((await h.app.store.getItem(failedA))!.state).toBe('FAILED');
    });

    it('POST work/cancel cancels; again is a no-op; COMPLETE is a 409; unknown is a 404', async () => {
      const res = await h.call('POST', '/api/v1/work/cancel', { body: { id: pending } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ changed: true, item: { id: pending, state: 'CANCELLED' } });
      const again = await h.call('POST', '/api/v1/work/cancel', { body: { id: pending } });
      expect(again.body).toMatchObject({ changed: false, item: { state: 'CANCELLED' } });
      const done = await h.call('POST', '/api/v1/work/cancel', { body: { id: complete } });
      expect(done.status).toBe(409);
      expect(done.body.error).toMatchObject({ code: 'invalid_transition', value: 'COMPLETE' });
      expect((await h.app.store.getItem(complete))!.state).toBe('COMPLETE');
      const missing = await h.call('POST', '/api/v1/work/cancel', { body: { id: 424242 } });
      expect(missing.status).toBe(404);
      const bad = await h.call('POST', '/api/v1/work/cancel', { body: { id: -3 } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('id');
      const none = await h.call('POST', '/api/v1/work/cancel', {});
      expect(none.status).toBe(400);
      expect(none.body.error.field).toBe('body');
    });
  });

  describe('GET /api/v1/runs', () => {
    it('lists recent attempts across items, newest first, with their item', async () => {
      const a = (await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.noop', partition: { runs: 'a' } } })).body.item.id;
      const b = (await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.fail', partition: { runs: 'b' }, max_attempts: 1 } })).body.item.id;
      const worker = h.app.createWorker({ concurrency: 1, pollMs: 20 });
      await worker.runItems([a, b]);
      const res = await h.call('GET', '/api/v1/runs?limit=2');
      expect(res.status).toBe(200);
      expect(res.body.runs).toHaveLength(2);
      expect(res.body.runs[0]).toMatchObject({ item_id: b, domain: 'ops', pipeline: 'fail', partition_key: 'runs=b', status: 'failed', item_state: 'FAILED' });
      expect(res.body.runs[1]).toMatchObject({ item_id: a, status: 'succeeded', item_state: 'COMPLETE' });
      expect(Date.parse(res.body.runs[0].started_at)).toBeGreaterThanOrEqual(Date.parse(res.body.runs[1].started_at));
      expect(res.body.total).toBeGreaterThanOrEqual(2);
      const page2 = await h.call('GET', '/api/v1/runs?limit=1&offset=1');
      expect(page2.body.runs[0].item_id).toBe(a);
      const failedOnly = await h.call('GET', '/api/v1/runs?status=failed&pipeline=ops.fail');
      expect(failedOnly.body.runs.every((r: any) => r.status === 'failed' && r.pipeline === 'fail')).toBe(true);
      const bad = await h.call('GET', '/api/v1/runs?status=exploded');
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('status');
    });
  });

  describe('pipelines', () => {
    it('GET /api/v1/pipelines lists what this process can run', async () => {
      const res = await h.call('GET', '/api/v1/pipelines');
      expect(res.status).toBe(200);
      const prices = res.body.pipelines.find((p: any) => p.pipeline === 'prices.daily_ohlcv');
      expect(prices).toMatchObject({ domain: 'prices', name: 'daily_ohlcv', partition_keys: ['date', 'symbol'] });
      expect(res.body.pipelines.map((p: any) => p.pipeline)).toContain('ops.noop');
    });

    it('POST /api/v1/pipelines/:name/trigger enqueues a partition (201), re-runs a finished one (200)', async () => {
      const first = await h.call('POST', '/api/v1/pipelines/prices.daily_ohlcv/trigger', {
        body: { partition: { date: '2026-02-02', symbol: 'NVDA' }, params: { source: 'http' } },
      });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ created: true, rerun: false, item: { state: 'PENDING', params: { source: 'http' } } });
      const id = first.body.item.id;
      const still = await h.call('POST', '/api/v1/pipelines/prices.daily_ohlcv/trigger', { body: { partition: { date: '2026-02-02', symbol: 'NVDA' } } });
      expect(still.status).toBe(200);
      expect(still.body).toMatchObject({ created: false, rerun: false, item: { id, state: 'PENDING' } });
      await h.app.createWorker({ concurrency: 1 }).runItems([id]);
      expect((await h.app.store.getItem(id))!.state).toBe('COMPLETE');
      const rerun = await h.call('POST', '/api/v1/pipelines/prices.daily_ohlcv/trigger', { body: { partition: { date: '2026-02-02', symbol: 'NVDA' } } });
      expect(rerun.status).toBe(200);
      expect(rerun.body).toMatchObject({ created: false, rerun: true, item: { id, state: 'PENDING' } });
    });

    it('POST /api/v1/pipelines/:name/trigger: 400 naming the field for an unknown pipeline or a bad partition', async () => {
      const before = await count();
      const unknown = await h.call('POST', '/api/v1/pipelines/prices.nope/trigger', { body: { partition: { date: '2026-02-02', symbol: 'NVDA' } } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ field: 'name', value: 'prices.nope' });
      const badPartition = await h.call('POST', '/api/v1/pipelines/prices.daily_ohlcv/trigger', { body: { partition: { date: 'yesterday', symbol: 'NVDA' } } });
      expect(badPartition.status).toBe(400);
      expect(badPartition.body.error.field).toBe('partition.date');
      const noBody = await h.call('POST', '/api/v1/pipelines/prices.daily_ohlcv/trigger');
      expect(noBody.status).toBe(400);
      expect(noBody.body.error.field).toBe('partition.date');
      expect(await count()).toBe(before);
    });
  });

  it('drains what the API enqueued with a real worker (end to end)', async () => {
    const res = await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-03-03', symbol: 'META' } } });
    const id = res.body.item.id;
    await h.app.createWorker({ concurrency: 1 }).runItems([id]);
    const item = await waitFor(async () => {
      const r = await h.call('GET', `/api/v1/work/${id}`);
      return r.body.item.state === 'COMPLETE' ? r.body : null;
    });
    expect(item.attempts[0]).toMatchObject({ status: 'succeeded', result: { row_count: 390 } });
    expect(item.attempts[0].output_tail).toContain('390 rows');
  });
});
