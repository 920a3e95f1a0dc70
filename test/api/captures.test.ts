import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyOhlcv } from '../../src/domains/prices/datasets.js';
import { startHarness, type Harness } from './support/harness.js';

/** A restatement's diff computed from both captures' rows, and the data pages rendering it. */
describe('captures diff, anomalies and the data pages', () => {
  let h: Harness;
  const bar = (symbol: string, close: number, volume = 1000) => ({ symbol, date: '2026-01-05', open: 10, high: 12, low: 9, close, volume });
  let first: string;
  let second: string;

  beforeAll(async () => {
    h = await startHarness();
    const partition = { date: '2026-01-05' };
    const a = await h.app.data.land(dailyOhlcv, {
      partition,
      stage: 'ingest',
      sourceBytes: 'v1',
      rows: [bar('AAA', 11), bar('BBB', 11.5), bar('CCC', 10.5)],
      capturedAt: new Date('2026-01-05T22:00:00Z'),
    });
    // The vendor restates: BBB's close corrected, CCC withdrawn, DDD <b>added</b>.
    const b = await h.app.data.land(dailyOhlcv, {
      partition,
      stage: 'ingest',
      sourceBytes: 'v2',
      rows: [bar('AAA', 11), bar('BBB', 11.75), bar('DDD', 20)],
      capturedAt: new Date('2026-01-06T09:00:00Z'),
    });
    first = a.capture_id;
    second = b.capture_id;
    expect(b.is_revision).toBe(true);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /api/v1/captures/diff: exact counts and the rows behind them, against the capture before by default', async () => {
    const res = await h.call('GET', `/api/v1/captures/diff?capture_id=${encodeURIComponent(second)}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.against.capture_id).toBe(first);
    expect(res.body.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    expect(res.body.added.map((r: { symbol: string }) => r.symbol)).toEqual(['DDD']);
    expect(res.body.removed.map((r: { symbol: string }) => r.symbol)).toEqual(['CCC']);
    expect(res.body.changed).toEqual([expect.objectContaining({ key: { symbol: 'BBB', date: '2026-01-05' }, columns: ['close'] })]);
    expect(res.body.changed[0].before.close).toBe(11.5);
    expect(res.body.changed[0].after.close).toBe(11.75);
    // The same counts as the revision summary the landing recorded.
    const captures = (await h.call('GET', `/api/v1/captures?domain=prices`)).body.captures;
    expect(captures.find((c: { capture_id: string }) => c.capture_id === second).revision_summary).toEqual({ rows_added: 1, rows_removed: 1, rows_changed: 1 });
    // Reversed and sampled: the sample caps the rows, never the counts.
    const back = await h.call('GET', `/api/v1/captures/diff?capture_id=${encodeURIComponent(first)}&against=${encodeURIComponent(second)}&sample=0`);
    expect(back.body.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    expect(back.body.added).toEqual([]);
    // The first capture has nothing before it: every row is added.
    const base = await h.call('GET', `/api/v1/captures/diff?capture_id=${encodeURIComponent(first)}`);
    expect(base.body.against).toBeNull();
    expect(base.body.counts.added).toBe(3);
  });

  it('unknown capture is 404; a malformed id is 400 naming the field', async () => {
    expect((await h.call('GET', '/api/v1/captures/diff?capture_id=prices:nope:20260101')).status).toBe(404);
    const bad = await h.call('GET', '/api/v1/captures/diff?capture_id=nocolon');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('capture_id');
  });

  it('pages: the readiness board, the captures with hash and revision, the diff, an as-of read, the graph', async () => {
    const board = await h.call('GET', '/manifest?domain=prices');
    expect(board.status).toBe(200);
    expect(board.text).toContain('data-partition="date=2026-01-05"');
    expect(board.text).toContain('3 rows');
    const list = await h.call('GET', '/captures?domain=prices');
    expect(list.text).toContain(`data-capture="${second}"`);
    expect(list.text).toContain('+1 −1 ~1');
    expect(list.text).toContain('class="diff-link"');
    const diff = await h.call('GET', `/captures/diff?capture_id=${encodeURIComponent(second)}`);
    expect(diff.status).toBe(200);
    expect(diff.text).toContain('+1 added');
    expect(diff.text).toMatch(/<td class="before">11.5<\/td><td class="after">11.75<\/td>/);
    const asOf = await h.call('GET', `/data/prices/daily_ohlcv?as_of=${encodeURIComponent(first)}&symbol=`);
    expect(asOf.status).toBe(200);
    expect(asOf.text).toContain('3 rows');
    expect(asOf.text).toContain('CCC');
    const latest = await h.call('GET', `/data/prices/daily_ohlcv?symbol=DDD`);
    expect(latest.text).toContain('1 rows');
    const graph = await h.call('GET', '/graph');
    expect(graph.status).toBe(200);
    expect(graph.text).toContain('<svg id="graph-svg"');
    expect(graph.text).toMatch(/<a class="node" href="\/grid\/finra\.otc_transparency\.normalize_week"/);
    const api = await h.call('GET', '/api/v1/graph');
    expect(api.body.edges).toContainEqual(
      expect.objectContaining({ from: 'finra.otc_transparency.ingest_week', to: 'finra.otc_transparency.normalize_week', auto: true }),
    );
  });
});
