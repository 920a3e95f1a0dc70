import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildGrid, chooseDimensions } from '../../src/api/grid.js';
import { definePipeline } from '../../src/core/pipeline.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { addToGridSummary } from '../../src/store/sqlite/migrations/0007-partition-grid-summary.js';
import { startHarness, testPipelines, waitFor, type Harness } from './support/harness.js';

/** Any flat partition (no schema): the wide grid below uses (date, symbol). */
const wide = definePipeline({ domain: 'bench', name: 'wide', handler: () => undefined });

const finra = definePipeline({
  domain: 'finra.otc_transparency',
  name: 'ingest_week',
  partition: z.object({ week_ending: z.string(), tier: z.enum(['NMS_TIER_1', 'NMS_TIER_2', 'OTC']) }),
  handler: () => undefined,
});

/**
 * 100,000 items of bench.wide, fast: one item goes through the store, then SQLite copies it
 * once per (date, symbol) with every other column taken from that template row (so the seed
 * follows schema changes). 100k validated store enqueues would cost ~10 s of CPU and slow the
 * timing-sensitive suites running beside this one.
 */
async function seedWide(h: Harness, dates: string[], symbols: string[]): Promise<void> {
  const backoff = { baseDelayMs: 1000, factor: 2, maxDelayMs: 60_000, jitter: 0 };
  const [template] = await h.app.store.enqueue([
    { domain: 'bench', pipeline: 'wide', partition: { date: dates[0]!, symbol: symbols[0]! }, params: {}, maxAttempts: 1, backoff },
  ]);
  const db = (h.app.store as SqliteStore).database;
  const columns = (db.prepare('PRAGMA table_info(work_items)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'id');
  const select = columns.map((c) =>
    c === 'partition_key' ? `'date=' || d.v || '|symbol=' || s.v` : c === 'partition' ? `json_object('date', d.v, 'symbol', s.v)` : `t.${c}`,
  );
  db.exec('CREATE TEMP TABLE seed_dates (v TEXT); CREATE TEMP TABLE seed_symbols (v TEXT)');
  const addDate = db.prepare('INSERT INTO seed_dates VALUES (?)');
  const addSymbol = db.prepare('INSERT INTO seed_symbols VALUES (?)');
  db.transaction(() => {
    for (const d of dates) addDate.run(d);
    for (const sym of symbols) addSymbol.run(sym);
  })();
  db.prepare(
    `INSERT INTO work_items (${columns.join(', ')})
     SELECT ${select.join(', ')} FROM work_items t, seed_dates d, seed_symbols s
     WHERE t.id = ? AND NOT (d.v = ? AND s.v = ?) ORDER BY d.v, s.v`,
  ).run(template!.item.id, dates[0], symbols[0]);
  db.exec('DROP TABLE seed_dates; DROP TABLE seed_symbols');
  // What the store's enqueue does for the rows it inserts: add them to the grid summary.
  for (const sql of addToGridSummary(`(SELECT * FROM work_items WHERE domain = 'bench' AND pipeline = 'wide' AND id > ${Number(template!.item.id)})`))
    db.exec(sql);
}

describe('partition status grid', () => {
  let h: Harness;
  const { pipelines, control } = testPipelines();

  beforeAll(async () => {
    h = await startHarness({ pipelines: [...pipelines, finra, wide] });
    control.fail.add('2026-01-06|MSFT');
    const requests = [];
    for (const date of ['2026-01-05', '2026-01-06', '2026-01-07'])
      for (const symbol of ['AAPL', 'MSFT']) requests.push({ pipeline: 'prices.daily_ohlcv', partition: { date, symbol }, maxAttempts: 1 });
    const outcomes = await enqueueWork(h.app.store, h.app.registry, requests);
    await h.app.createWorker({ concurrency: 1 }).runItems(outcomes.slice(0, 4).map((o) => o.item.id));
  });
  afterAll(async () => {
    await h.close();
  });

  it('picks the date key for rows and the other key for columns; cells carry state and item id', async () => {
    const res = await h.call('GET', '/api/v1/grid/prices.daily_ohlcv');
    expect(res.status).toBe(200);
    const g = res.body;
    expect(g).toMatchObject({
      pipeline: 'prices.daily_ohlcv',
      total_items: 6,
      row_key: 'date',
      col_key: 'symbol',
      folded_keys: [],
      total_rows: 3,
      total_columns: 2,
    });
    expect(g.rows).toEqual(['2026-01-07', '2026-01-06', '2026-01-05']); // newest first
    expect(g.columns).toEqual(['AAPL', 'MSFT']);
    const cell = (date: string, symbol: string) => g.cells[g.rows.indexOf(date)][g.columns.indexOf(symbol)];
    expect(cell('2026-01-06', 'MSFT')).toMatchObject({ state: 'FAILED', count: 1 });
    expect(cell('2026-01-05', 'AAPL')).toMatchObject({ state: 'COMPLETE', count: 1 });
    expect(cell('2026-01-07', 'AAPL')).toMatchObject({ state: 'PENDING' });
    expect(cell('2026-01-06', 'MSFT').item_id).toBeTypeOf('number');
    expect(g.state_totals).toMatchObject({ COMPLETE: 3, FAILED: 1, PENDING: 2 });
  });

  it('week_ending x tier for FINRA-style partitions, rows/cols overridable, rows and columns paged', async () => {
    const weeks = ['2025-12-05', '2025-12-12', '2025-12-19'];
    await enqueueWork(
      h.app.store,
      h.app.registry,
      weeks.flatMap((week_ending) =>
        ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'].map((tier) => ({ pipeline: 'finra.otc_transparency.ingest_week', partition: { week_ending, tier } })),
      ),
    );
    const auto = (await h.call('GET', '/api/v1/grid/finra.otc_transparency.ingest_week')).body;
    expect(auto).toMatchObject({ row_key: 'week_ending', col_key: 'tier', total_rows: 3, total_columns: 3 });
    const swapped = (await h.call('GET', '/api/v1/grid/finra.otc_transparency.ingest_week?rows=tier&cols=week_ending')).body;
    expect(swapped).toMatchObject({ row_key: 'tier', col_key: 'week_ending', rows: ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'] });
    const paged = (await h.call('GET', '/api/v1/grid/finra.otc_transparency.ingest_week?limit=2&offset=1&col_limit=1&col_offset=2')).body;
    expect(paged).toMatchObject({ rows: ['2025-12-12', '2025-12-05'], columns: ['OTC'], total_rows: 3, total_columns: 3 });
    expect(paged.cells).toHaveLength(2);
    expect(paged.cells[0]).toHaveLength(1);
  });

  it('keeps up with changes: new partitions, finished and retried items appear on later polls', async () => {
    const first = (await h.call('GET', '/api/v1/grid/prices.daily_ohlcv')).body;
    expect(first.total_rows).toBe(3);
    const [added] = await enqueueWork(h.app.store, h.app.registry, [
      { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-01-08', symbol: 'AAPL' }, maxAttempts: 1 },
    ]);
    const failedId = first.cells[first.rows.indexOf('2026-01-06')][first.columns.indexOf('MSFT')].item_id as number;
    control.fail.clear();
    await h.app.store.retry({ id: failedId });
    const pendingIds = first.rows.map((_: string, r: number) => first.cells[r].filter((c: any) => c?.state === 'PENDING').map((c: any) => c.item_id)).flat();
    await h.app.createWorker({ concurrency: 1 }).runItems([failedId, added!.item.id, ...pendingIds]);
    const g = await waitFor(
      async () => {
        const r = (await h.call('GET', '/api/v1/grid/prices.daily_ohlcv')).body;
        return r.total_items === 7 && r.state_totals.COMPLETE === 7 ? r : null;
      },
      15_000,
      'the grid to catch up',
    );
    expect(g.rows[0]).toBe('2026-01-08');
    expect(g.cells[g.rows.indexOf('2026-01-06')][g.columns.indexOf('MSFT')].state).toBe('COMPLETE');
  });

  it('400 for an unknown pipeline or partition key, naming the field', async () => {
    const unknown = await h.call('GET', '/api/v1/grid/prices.nope');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ field: 'pipeline', value: 'prices.nope' });
    const badKey = await h.call('GET', '/api/v1/grid/prices.daily_ohlcv?rows=venue');
    expect(badKey.status).toBe(400);
    expect(badKey.body.error).toMatchObject({ field: 'rows', value: 'venue' });
    expect(badKey.body.error.rule).toMatch(/date, symbol/);
    const badLimit = await h.call('GET', '/api/v1/grid/prices.daily_ohlcv?limit=100000');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.field).toBe('limit');
  });

  it('folds extra keys into cells and shows the most urgent state', () => {
    const scan = {
      at: Date.now(),
      truncated: false,
      entries: [
        { id: 1, partition: { date: '2026-01-05', symbol: 'AAPL', venue: 'X' }, state: 'COMPLETE' as const },
        { id: 2, partition: { date: '2026-01-05', symbol: 'AAPL', venue: 'Y' }, state: 'FAILED' as const },
        { id: 3, partition: { date: '2026-01-05', symbol: 'MSFT', venue: 'X' }, state: 'COMPLETE' as const },
        { id: 4, partition: { date: '2026-01-06', symbol: 'MSFT', venue: 'X' }, state: 'RUNNING' as const },
      ],
    };
    const g = buildGrid('prices.x', scan, { limit: 10, offset: 0, colLimit: 10, colOffset: 0 });
    expect(g.row_key).toBe('date');
    expect(g.folded_keys).toEqual(['venue']);
    expect(g.cells[g.rows.indexOf('2026-01-05')]![g.columns.indexOf('AAPL')]).toMatchObject({
      state: 'FAILED',
      count: 2,
      item_id: null,
      counts: { COMPLETE: 1, FAILED: 1 },
    });
    expect(g.cells[g.rows.indexOf('2026-01-06')]![g.columns.indexOf('AAPL')]).toBeNull();
    expect(chooseDimensions([])).toEqual({ row: null, col: null });
    expect(
      chooseDimensions([
        { key: 'symbol', distinct: 500, date_like: false },
        { key: 'tier', distinct: 3, date_like: false },
      ]),
    ).toEqual({ row: 'symbol', col: 'tier' });
  });

  it('orders numbers by value, dates newest first, other text naturally; entries without the key go last as (none)', () => {
    const entry = (id: number, partition: Record<string, string>) => ({ id, partition, state: 'PENDING' as const });
    const numeric = buildGrid(
      'x.n',
      { at: Date.now(), truncated: false, entries: ['10', '9', '100', '0'].map((n, i) => entry(i + 1, { n })) },
      { limit: 10, offset: 0, colLimit: 10, colOffset: 0 },
    );
    expect(numeric).toMatchObject({ row_key: 'n', col_key: null, rows: ['0', '9', '10', '100'], columns: ['-'], total_rows: 4 });
    expect(numeric.cells.map((row) => row[0]?.item_id)).toEqual([4, 2, 1, 3]);
    const mixed = buildGrid(
      'x.m',
      {
        at: Date.now(),
        truncated: false,
        entries: [entry(1, { d: '2026-01-05', s: 'b2' }), entry(2, { d: '2026-01-07', s: 'b10' }), entry(3, { d: '2026-01-06' }), entry(4, { s: 'a' })],
      },
      { limit: 10, offset: 0, colLimit: 10, colOffset: 0 },
    );
    expect(mixed).toMatchObject({
      row_key: 'd',
      col_key: 's',
      rows: ['2026-01-07', '2026-01-06', '2026-01-05', '(none)'],
      columns: ['a', 'b2', 'b10', '(none)'],
    });
    expect(mixed.cells[3]![0]).toMatchObject({ item_id: 4, state: 'PENDING', count: 1, counts: { PENDING: 1 } });
    expect(mixed.cells[1]![3]).toMatchObject({ item_id: 3 });
    expect(mixed.cells[0]![0]).toBeNull();
    const empty = buildGrid('x.e', { at: Date.now(), truncated: false, entries: [] }, { limit: 10, offset: 0, colLimit: 10, colOffset: 0 });
    expect(empty).toMatchObject({ total_items: 0, rows: [], columns: [], cells: [] });
  });

  it('reads partitions and states only (the grid summary and partitionStatesByKey), never full item rows', async () => {
    const store = h.app.store;
    const calls = { listItems: 0, partitionStates: 0 };
    const listItems = store.listItems.bind(store);
    const partitionStates = store.partitionStatesByKey.bind(store);
    const spied = store as unknown as Record<string, unknown>;
    // The store's operations are own properties (bound in its constructor), so the spies are
    // undone by putting the originals back, not by deleting the overrides.
    const originals = { listItems: spied.listItems, partitionStatesByKey: spied.partitionStatesByKey };
    spied.listItems = (...args: Parameters<typeof listItems>) => (calls.listItems++, listItems(...args));
    spied.partitionStatesByKey = (...args: Parameters<typeof partitionStates>) => (calls.partitionStates++, partitionStates(...args));
    try {
      await enqueueWork(h.app.store, h.app.registry, [{ pipeline: 'prices.daily_ohlcv', partition: { date: '2026-02-02', symbol: 'IBM' } }]);
      const g = await waitFor(
        async () => {
          const r = (await h.call('GET', '/api/v1/grid/prices.daily_ohlcv')).body;
          return r.rows.includes('2026-02-02') ? r : null;
        },
        15_000,
        'the new partition',
      );
      expect(g.columns).toContain('IBM');
      expect(calls.partitionStates).toBeGreaterThan(0);
      expect(calls.listItems).toBe(0);
    } finally {
      Object.assign(spied, originals);
    }
  });

  it('stays fast with 100,000 items: one scan, then paged pages from the cache', async () => {
    const dates: string[] = [];
    for (let d = new Date(Date.UTC(2024, 0, 1)); dates.length < 400; d = new Date(d.getTime() + 86_400_000)) dates.push(d.toISOString().slice(0, 10));
    const symbols = Array.from({ length: 250 }, (_, i) => `S${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`);
    const t0 = Date.now();
    await seedWide(h, dates, symbols);
    const enqueueMs = Date.now() - t0;
    expect(await h.app.store.countItems({ domain: 'bench' })).toBe(100_000);
    const t1 = Date.now();
    const first = await h.call('GET', '/api/v1/grid/bench.wide?limit=50&col_limit=40');
    const coldMs = Date.now() - t1;
    expect(first.status, first.text.slice(0, 2000)).toBe(200);
    expect(first.body).toMatchObject({ total_items: 100_000, row_key: 'date', col_key: 'symbol', total_rows: 400, total_columns: 250 });
    expect(first.body.rows).toHaveLength(50);
    expect(first.body.rows[0]).toBe(dates[dates.length - 1]);
    expect(first.body.columns).toHaveLength(40);
    expect(first.text.length).toBeLessThan(400_000);
    const t2 = Date.now();
    const next = await h.call('GET', '/api/v1/grid/bench.wide?limit=50&offset=50&col_limit=40&col_offset=40');
    const warmMs = Date.now() - t2;
    expect(next.body.rows[0]).toBe(dates[dates.length - 51]);
    expect(next.body.columns).toHaveLength(40);
    expect(next.body.columns).not.toContain(first.body.columns[0]);
    console.log(`grid over 100k items: enqueue ${enqueueMs} ms, cold page ${coldMs} ms, cached page ${warmMs} ms`);
    expect(coldMs).toBeLessThan(30_000);
    expect(warmMs).toBeLessThan(1_000);
    // A change shows up on a later poll: the cell at once, the totals after at most one
    // refresh of the summary.
    const target = first.body.cells[0][0].item_id as number;
    await h.app.store.cancel(target);
    const changed = await waitFor(
      async () => {
        const r = await h.call('GET', '/api/v1/grid/bench.wide?limit=1&col_limit=1');
        return r.body.cells[0][0].state === 'CANCELLED' && r.body.state_totals.CANCELLED === 1 ? r.body : null;
      },
      60_000,
      'the cancelled cell',
    );
    expect(changed.state_totals.CANCELLED).toBe(1);
  }, 120_000);
});
