import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../src/core/pipeline.js';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { dailyOhlcv } from '../../src/domains/prices/datasets.js';
import { startHarness, type Harness } from '../api/support/harness.js';

/**
 * In a real browser (Debian's Chromium through playwright-core): a restatement seen on the
 * captures page and its diff, a partition launched from the grid's Run now form running, the
 * pipeline graph linking to grids and an item's downstream, and a one-dimensional date set
 * shown as a calendar.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const skip = !existsSync(CHROMIUM) && !process.env.CI;

const gate = { open: false };
const VENUES = ['XNYS', 'XNAS'] as const;
const fetchBars = definePipeline({
  domain: 'test.ui',
  name: 'fetch',
  partition: z.strictObject({ date: z.string(), venue: z.enum(VENUES) }),
  params: z.object({}),
  handler: async ({ signal }) => {
    while (!gate.open && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
  },
});
const summary = definePipeline({
  domain: 'test.ui',
  name: 'summary',
  partition: z.strictObject({ date: z.string() }),
  params: z.object({}),
  dependsOn: [{ pipeline: 'test.ui.fetch', mapping: { kind: 'fan_in' as const, dimension: 'venue', values: VENUES }, auto: true }],
  handler: () => undefined,
});
const daily = definePipeline({
  domain: 'test.ui',
  name: 'daily',
  partition: z.strictObject({ date: z.string() }),
  params: z.object({}),
  handler: () => undefined,
});

describe.skipIf(skip)('data, launch and graph pages in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    h = await startHarness({ pipelines: [fetchBars, summary, daily], worker: { concurrency: 2 } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ baseURL: h.base, viewport: { width: 1280, height: 900 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    gate.open = true;
    await browser?.close();
    await h?.close();
  });

  it('a restatement is visible on the captures page, and its diff shows the rows added, removed and changed', async () => {
    const bar = (symbol: string, close: number) => ({ symbol, date: '2026-02-02', open: 10, high: 12, low: 9, close, volume: 500 });
    const partition = { date: '2026-02-02' };
    await h.app.data.land(dailyOhlcv, {
      partition,
      stage: 'ingest',
      sourceBytes: 'a',
      rows: [bar('AAA', 11), bar('BBB', 11.5), bar('CCC', 9.5)],
      capturedAt: new Date('2026-02-02T22:00:00Z'),
    });
    const restated = await h.app.data.land(dailyOhlcv, {
      partition,
      stage: 'ingest',
      sourceBytes: 'b',
      rows: [bar('AAA', 11), bar('BBB', 11.25), bar('<i>EEE</i>', 30)],
      capturedAt: new Date('2026-02-03T08:00:00Z'),
    });
    await page.goto('/manifest?domain=prices');
    expect(await page.textContent('tr[data-partition="date=2026-02-02"] td[data-stage="ingest"]')).toContain('3 rows');
    await page.click('tr[data-partition="date=2026-02-02"] th a');
    const row = page.locator(`#captures tr[data-capture="${restated.capture_id}"]`);
    expect(await row.locator('.badge.revision').textContent()).toBe('revision');
    expect(await row.locator('.rev-summary').textContent()).toBe('+1 −1 ~1');
    await row.locator('a.diff-link').click();
    await page.waitForURL(/\/captures\/diff\?/);
    expect(await page.textContent('#diff-counts')).toContain('+1 added');
    expect(await page.textContent('#diff-counts')).toContain('−1 removed');
    expect(await page.textContent('#diff-changed td.before')).toBe('11.5');
    expect(await page.textContent('#diff-changed td.after')).toBe('11.25');
    // A symbol with markup is shown as text, not parsed.
    expect(await page.textContent('#diff-added tbody')).toContain('<i>EEE</i>');
    expect(await page.locator('#diff-added i').count()).toBe(0);
    expect(await page.textContent('#diff-removed tbody')).toContain('CCC');
    // As-of read of the first capture from its Rows link: the withdrawn row is back.
    await page.goBack();
    const first = page.locator('#captures tr:not(.is-revision) a', { hasText: 'rows' });
    await first.click();
    expect(await page.textContent('#row-count')).toBe('3 rows');
    expect(await page.textContent('#rows')).toContain('CCC');
  });

  it('Run now on the grid launches a partition that starts running; its item page shows it and its downstream', async () => {
    h.worker!.start();
    await page.goto('/grid/test.ui.fetch');
    await page.fill('#launch input[name="date"]', '2026-02-04');
    await page.selectOption('#launch select[name="venue"]', 'XNAS');
    await page.click('#btn-launch');
    await expect.poll(() => page.textContent('#action-msg'), { timeout: 10_000 }).toMatch(/launched: item #\d+/);
    const id = Number((await page.getAttribute('#launched-item', 'href'))!.split('/').pop());
    await expect.poll(async () => (await h.app.store.getItem(id))!.state, { timeout: 10_000 }).toBe('RUNNING');
    await expect.poll(() => page.getAttribute(`td.cell:has(a[href="/items/${id}"])`, 'data-state'), { timeout: 10_000 }).toBe('RUNNING');
    await page.click('#launched-item');
    await expect.poll(() => page.textContent('#item-state'), { timeout: 10_000 }).toBe('RUNNING');
    // The auto downstream (a fan-in over venues) waits for it.
    const down = page.locator('#lineage-down tr');
    expect(await down.count()).toBe(1);
    expect(await down.textContent()).toContain('test.ui.summary');
    expect(await down.textContent()).toContain('fan_in venue (2)');
    expect(await down.locator('.badge').textContent()).toBe('WAITING');
    gate.open = true;
    await expect.poll(() => page.textContent('#item-state'), { timeout: 10_000 }).toBe('COMPLETE');
  });

  it('the graph: pipelines as linked boxes with their mapping; a box opens its grid', async () => {
    await page.goto('/graph');
    const node = page.locator('svg#graph-svg a.node[data-pipeline="test.ui.summary"]');
    expect(await node.count()).toBe(1);
    const edge = page.locator('svg#graph-svg g.edge[data-from="test.ui.fetch"][data-to="test.ui.summary"]');
    expect(await edge.textContent()).toBe('fan_in venue (2) · auto');
    // The downstream sits to the right of its upstream (layered layout).
    const x = async (p: string) => Number(await page.getAttribute(`a.node[data-pipeline="${p}"] rect`, 'x'));
    expect(await x('test.ui.summary')).toBeGreaterThan(await x('test.ui.fetch'));
    await node.click();
    await page.waitForURL(/\/grid\/test\.ui\.summary$/);
  });

  it('a one-dimensional date set renders as a calendar of days × weeks', async () => {
    const dates = Array.from({ length: 20 }, (_x, i) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10));
    await enqueueWork(
      h.app.store,
      h.app.registry,
      dates.map((date) => ({ pipeline: 'test.ui.daily', partition: { date } })),
    );
    await page.goto('/grid/test.ui.daily');
    expect(await page.getAttribute('#grid', 'data-layout')).toBe('days');
    expect(await page.locator('#grid thead th').allTextContents()).toEqual(['week of ↓ / day →', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
    // 2026-01-01 is a Thursday: 20 days span the weeks of Dec 29, Jan 5, Jan 12 and Jan 19.
    expect(await page.locator('#grid tbody th').allTextContents()).toEqual(['2026-01-19', '2026-01-12', '2026-01-05', '2025-12-29']);
    expect(await page.locator('#grid td.cell').count()).toBe(20);
    await expect.poll(() => page.locator('#grid td.cell[data-state="COMPLETE"]').count(), { timeout: 15_000 }).toBe(20);
  });
});
