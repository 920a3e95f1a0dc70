import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { startHarness, testPipelines, waitFor, type Harness } from '../api/support/harness.js';
import { StoreScheduler } from '../api/support/store-scheduler.js';

/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core (no browser
 * download). Skipped only when /usr/bin/chromium is missing outside CI; in CI it must run.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const haveChromium = existsSync(CHROMIUM);
const skip = !haveChromium && !process.env.CI;
if (skip) console.warn(`dashboard browser tests SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium). They always run when CI is set.`);

// The README's screenshots are refreshed only on request (SLUICE_UPDATE_SCREENSHOTS=1), so a
// test run never rewrites tracked files; otherwise they go to a scratch directory.
const SCREENSHOTS =
  process.env.SLUICE_UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
    : `${mkdtempSync(path.join(tmpdir(), 'sluice-shots-'))}/`;
const HOSTILE = '<img src=x onerror=alert(1)>';
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15', '2026-01-16'];
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG', 'META', 'TSLA', 'JPM'];
const FAILED_COLOUR = 'rgb(220, 38, 38)';
/** Runs in the page (this project's TS lib has no DOM types). */
const backgroundOf = (el: unknown): string =>
  (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor;
const COMPLETE_COLOUR = 'rgb(22, 163, 74)';

describe.skipIf(skip)('dashboard in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let scheduler: StoreScheduler;
  const dialogs: string[] = [];
  const { pipelines, control } = testPipelines();
  const ids = new Map<string, number>();

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    h = await startHarness({
      pipelines,
      worker: { concurrency: 4 },
      scheduler: (app) =>
        (scheduler = new StoreScheduler(app, [
          {
            name: 'prices-after-close',
            pipeline: 'prices.daily_ohlcv',
            cron: '15 16 * * 1-5',
            timezone: 'America/New_York',
            calendar: 'XNYS',
            partitions: () => [],
          },
          {
            name: 'finra-weekly',
            pipeline: 'ops.noop',
            cron: '30 10 * * 1',
            timezone: 'America/New_York',
            partitions: (at) => [{ week: at.toISOString().slice(0, 10) }],
          },
          { name: 'nightly-maintenance', pipeline: 'ops.noop', cron: '15 3 * * *', timezone: 'America/New_York', enabled: false, partitions: () => [] },
        ])),
    });

    // A realistic grid: mostly COMPLETE, a few FAILED, one RUNNING, one RETRY_WAIT, two not due yet.
    control.fail.add('2026-01-07|MSFT').add('2026-01-13|TSLA').add('2026-01-09|GOOG').add('2026-01-15|AMZN');
    control.slow.add('2026-01-16|NVDA');
    const later = new Date(Date.now() + 6 * 3_600_000);
    const requests = DATES.flatMap((date) =>
      SYMBOLS.map((symbol) => ({
        pipeline: 'prices.daily_ohlcv',
        partition: { date, symbol },
        maxAttempts: `${date}|${symbol}` === '2026-01-15|AMZN' ? 3 : 1,
        baseDelay: '1h',
        desiredAt: date === '2026-01-16' && ['META', 'JPM'].includes(symbol) ? later : undefined,
      })),
    );
    const outcomes = await enqueueWork(h.app.store, h.app.registry, requests);
    outcomes.forEach((o) => ids.set(`${o.item.partition.date}|${o.item.partition.symbol}`, o.item.id));
    const hostile = await enqueueWork(h.app.store, h.app.registry, [
      { pipeline: 'ops.noop', partition: { name: HOSTILE } },
      { pipeline: 'ops.fail', partition: { name: HOSTILE }, params: { message: `bad row ${HOSTILE} <script>alert(2)</script>` }, maxAttempts: 1 },
    ]);
    ids.set('hostile-noop', hostile[0]!.item.id);
    ids.set('hostile-fail', hostile[1]!.item.id);
    h.worker!.start();
    await waitFor(
      async () => {
        const [running, retryWait, failed] = await Promise.all([
          h.app.store.countItems({ state: 'RUNNING' }),
          h.app.store.countItems({ state: 'RETRY_WAIT' }),
          h.app.store.countItems({ state: 'FAILED' }),
        ]);
        return running === 1 && retryWait === 1 && failed === 4 && (await h.app.store.countItems({ state: 'PENDING' })) === 2;
      },
      30_000,
      'the seeded grid to settle',
    );

    // Schedule history: on-time and late ticks, and a misfire.
    for (let d = 3; d >= 1; d--) {
      const at = new Date(Date.now() - d * 86_400_000);
      scheduler.record('prices-after-close', {
        scheduled_at: at.toISOString(),
        fired_at: new Date(at.getTime() + 180 * d).toISOString(),
        outcome: 'fired',
        detail: 'enqueued 8 of 8',
      });
    }
    const monday = new Date(Date.now() - 7 * 86_400_000);
    scheduler.record('finra-weekly', {
      scheduled_at: monday.toISOString(),
      fired_at: null,
      outcome: 'skipped',
      detail: 'misfire: process was down past misfire_grace (5m)',
    });
    await scheduler.start();

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: h.base });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('overview: counts by state, failing pipelines, next ticks, and live updates without a reload', async () => {
    await page.goto('/');
    await expect.poll(() => page.textContent('#total-FAILED')).toBe(String(await h.app.store.countItems({ state: 'FAILED' })));
    expect(await page.textContent('#failing-body')).toContain('prices.daily_ohlcv');
    expect(await page.textContent('#ticks')).toContain('prices-after-close');
    const before = Number(await page.textContent('#total-COMPLETE'));
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same page'));
    await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.noop', partition: { live: 'update' } } });
    await expect.poll(async () => Number(await page.textContent('#total-COMPLETE')), { timeout: 10_000 }).toBe(before + 1);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker)).toBe('same page');
    await page.screenshot({ path: `${SCREENSHOTS}overview.png`, fullPage: true });
  });

  it('partition grid: a failed partition is drawn in the failed colour', async () => {
    await page.goto('/grid/prices.daily_ohlcv');
    const failed = page.locator('td.cell[data-row="2026-01-07"][data-col="MSFT"]');
    await expect.poll(() => failed.getAttribute('data-state')).toBe('FAILED');
    expect(await failed.getAttribute('class')).toContain('s-FAILED');
    expect(await failed.evaluate(backgroundOf)).toBe(FAILED_COLOUR);
    const ok = page.locator('td.cell[data-row="2026-01-05"][data-col="AAPL"]');
    expect(await ok.evaluate(backgroundOf)).toBe(COMPLETE_COLOUR);
    expect(await page.locator('td.cell[data-row="2026-01-16"][data-col="NVDA"]').getAttribute('data-state')).toBe('RUNNING');
    // Rows are dates, newest first; columns are symbols.
    expect(await page.locator('table.grid tbody th').first().textContent()).toBe('2026-01-16');
    expect(await page.locator('table.grid thead th').nth(1).textContent()).toBe('AAPL');
    // The cell links to its work item.
    expect(await failed.locator('a').getAttribute('href')).toBe(`/items/${ids.get('2026-01-07|MSFT')}`);
    await page.waitForTimeout(1200); // let one poll re-render the table from JSON
    expect(await page.locator('td.cell[data-row="2026-01-07"][data-col="MSFT"]').evaluate(backgroundOf)).toBe(FAILED_COLOUR);
    await page.screenshot({ path: `${SCREENSHOTS}grid.png`, fullPage: true });
  });

  it('work item page: Retry makes a failed item run, and the page turns COMPLETE without a reload', async () => {
    const id = ids.get('2026-01-13|TSLA')!;
    await page.goto(`/items/${id}`);
    expect(await page.textContent('#item-state')).toBe('FAILED');
    expect(await page.textContent('#last-error')).toContain('source answered 503 for TSLA on 2026-01-13 <script>alert("err")</script>');
    expect(await page.locator('#attempts pre').first().textContent()).toContain('HTTP 503 Service Unavailable <b>retry later</b>');
    expect(await page.isVisible('#btn-cancel')).toBe(false);
    control.fail.delete('2026-01-13|TSLA'); // the source is back
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same page'));
    await page.click('#btn-retry');
    await expect.poll(() => page.textContent('#item-state'), { timeout: 20_000 }).toBe('COMPLETE');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker)).toBe('same page');
    expect(await page.getAttribute('#item-state', 'class')).toContain('s-COMPLETE');
    expect(await page.textContent('#action-msg')).toContain(`Retried item #${id}`);
    await expect.poll(() => page.locator('#attempts tr[data-attempt]').count()).toBe(2);
    expect(await page.isVisible('#btn-retry')).toBe(false);
    expect((await h.app.store.getItem(id))!.state).toBe('COMPLETE');
    await page.screenshot({ path: `${SCREENSHOTS}item.png`, fullPage: true });
  });

  it('a hostile partition value and error render as text on every page (no script runs)', async () => {
    const pages = ['/', '/work?state=ALL', `/items/${ids.get('hostile-noop')}`, `/items/${ids.get('hostile-fail')}`, '/grid/ops.noop', '/grid/ops.fail'];
    for (const url of pages) {
      await page.goto(url);
      await page.waitForTimeout(1300); // at least one poll: the script re-renders from JSON
      expect(await page.getByText(HOSTILE, { exact: false }).first().isVisible(), url).toBe(true);
      expect(await page.locator('img').count(), url).toBe(0);
      expect(await page.locator('main script').count(), url).toBe(0);
    }
    await page.goto(`/items/${ids.get('hostile-fail')}`);
    expect(await page.textContent('#last-error')).toContain(`bad row ${HOSTILE} <script>alert(2)</script>`);
    expect(dialogs).toEqual([]);
  });

  it('schedules page: recent ticks, and Trigger now enqueues', async () => {
    await page.goto('/schedules');
    expect(await page.locator('section.schedule').count()).toBe(3);
    expect(await page.textContent('#sched-status')).toBe('running');
    const prices = page.locator('section.schedule[data-name="prices-after-close"]');
    expect(await prices.locator('tbody tr').count()).toBe(3);
    expect(await page.locator('section.schedule[data-name="finra-weekly"]').textContent()).toContain('misfire');
    const before = await h.app.store.countItems();
    await page.click('section.schedule[data-name="finra-weekly"] button.trigger');
    await expect.poll(() => page.textContent('#action-msg')).toContain('Triggered finra-weekly: 1 item(s) enqueued.');
    expect(await h.app.store.countItems()).toBe(before + 1);
    await expect.poll(() => page.locator('section.schedule[data-name="finra-weekly"] tbody tr').count()).toBe(2);
    await page.screenshot({ path: `${SCREENSHOTS}schedules.png`, fullPage: true });
  });

  it('list page: filters by state and pipeline, pages', async () => {
    await page.goto('/work?state=FAILED&pipeline=prices.daily_ohlcv');
    const states = await page.locator('#work-body .badge').allTextContents();
    expect(states.length).toBe(await h.app.store.countItems({ state: 'FAILED', domain: 'prices' }));
    expect(new Set(states)).toEqual(new Set(['FAILED']));
    await page.goto('/work?state=ALL&limit=25');
    expect(await page.locator('#work-body tr').count()).toBe(25);
    await page.click('#next');
    await page.waitForURL(/offset=25/);
    expect(await page.textContent('#list-count')).toMatch(/^26–50 of \d+$/);
    await page.selectOption('select[name=state]', 'RUNNING');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/state=RUNNING/);
    expect(await page.locator('#work-body .badge').allTextContents()).toEqual(['RUNNING']);
    await page.goto('/work?state=BOGUS');
    expect(await page.textContent('main')).toContain('be one of');
  });
});
