import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../src/core/pipeline.js';
import { enqueueWork } from '../../src/engine/enqueue.js';
import type { Scheduler } from '../../src/engine/scheduler/scheduler.js';
import { startHarness, type Harness } from '../api/support/harness.js';

/**
 * Operator actions in a real browser (Debian's Chromium through playwright-core): a backfill's
 * progress page advancing to done without a reload, and a schedule paused from the
 * Schedules page that then does not fire.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const skip = !existsSync(CHROMIUM) && !process.env.CI;

const gate = { open: false };
const LANES = ['east', 'west'] as const;
const ingest = definePipeline({
  domain: 'test.op',
  name: 'ingest',
  partition: z.strictObject({ date: z.string(), lane: z.enum(LANES) }),
  params: z.object({}),
  handler: async () => {
    while (!gate.open) await new Promise((r) => setTimeout(r, 20));
  },
});
const summarize = definePipeline({
  domain: 'test.op',
  name: 'summarize',
  partition: z.strictObject({ date: z.string(), lane: z.enum(LANES) }),
  params: z.object({}),
  dependsOn: [{ pipeline: 'test.op.ingest', mapping: { kind: 'identity' as const }, auto: true }],
  handler: () => undefined,
});
/** Fails while its partition's n is in `broken` (the source is down for it). */
const broken = new Set<string>();
const flaky = definePipeline({
  domain: 'test.op',
  name: 'flaky',
  partition: z.strictObject({ n: z.string() }),
  params: z.object({}),
  handler: ({ partition }) => {
    if (broken.has(String(partition.n))) throw new Error(`source down for ${partition.n}`);
  },
});
const SCHEDULE = { name: 'every-minute', pipeline: 'ops.noop', cron: '* * * * *', timezone: 'America/New_York', misfire_grace: '1h', coalesce: false };

describe.skipIf(skip)('operator actions in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let scheduler: Scheduler;

  beforeAll(async () => {
    h = await startHarness({
      pipelines: [ingest, summarize, flaky],
      config: { schedules: [SCHEDULE] },
      worker: { concurrency: 2 },
      scheduler: (app) => (scheduler = app.createScheduler({ store: app.store })),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ baseURL: h.base, viewport: { width: 1280, height: 900 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    gate.open = true;
    await browser?.close();
    await h?.close();
  });

  it("a backfill's page shows its progress advancing to done, the downstream counted", async () => {
    const created = await h.call('POST', '/api/v1/backfills', { body: { pipeline: 'test.op.ingest', from: '2026-01-05', to: '2026-01-09' } });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    h.worker!.start();
    await page.goto('/backfills');
    expect(await page.textContent(`#backfills-body tr[data-id="${id}"]`)).toContain('test.op.ingest');
    await page.click(`#backfills-body tr[data-id="${id}"] a[href="/backfills/${id}"]`);
    // 5 sessions × 2 lanes, plus one summarize per partition: 20 items, none finished yet.
    await expect.poll(() => page.textContent('#bf-progress'), { timeout: 10_000 }).toContain('0/20 items finished');
    expect(await page.textContent('#bf-state')).toBe('running');
    expect(await page.textContent('#bf-counts tr[data-part="downstream"] td[data-state="WAITING"]')).toBe('10');
    gate.open = true;
    await expect.poll(() => page.textContent('#bf-state'), { timeout: 20_000 }).toBe('done');
    expect(await page.textContent('#bf-progress')).toContain('20/20 items finished (100%)');
    expect(await page.textContent('#bf-counts tr[data-part="downstream"] td[data-state="COMPLETE"]')).toBe('10');
    expect(await page.getAttribute('#bf-bar progress', 'value')).toBe('20');
    expect(await page.isVisible('#btn-bf-cancel')).toBe(false);
  });

  it('a schedule paused from the Schedules page does not fire; resume brings it back', async () => {
    const before = await h.app.store.countItems();
    await page.goto('/schedules');
    const section = page.locator(`section.schedule[data-name="${SCHEDULE.name}"]`);
    await section.locator('button.pause').click();
    await expect.poll(() => section.locator('.badge.paused').count(), { timeout: 10_000 }).toBe(1);
    expect(await section.locator('button.pause').textContent()).toBe('Resume');
    await scheduler.evaluate(new Date(Date.now() + 3 * 60_000));
    expect(await h.app.store.countItems()).toBe(before);
    await page.reload();
    const outcomes = await section.locator('.tick-outcome').allTextContents();
    expect(outcomes.length).toBeGreaterThan(0);
    expect(new Set(outcomes)).toEqual(new Set(['skipped_paused']));
    await section.locator('button.pause').click();
    await expect.poll(() => section.locator('.badge.paused').count(), { timeout: 10_000 }).toBe(0);
    const events = (await h.call('GET', `/api/v1/schedules/${SCHEDULE.name}/events`)).body.events.map((e: { event: string }) => e.event);
    expect(events).toEqual(['resumed', 'paused']);
  });

  it('bulk retry of cells selected in the grid: the selected failed partitions run again, the others stay', async () => {
    for (const n of ['1', '2', '3']) broken.add(n);
    const outcomes = await enqueueWork(
      h.app.store,
      h.app.registry,
      ['1', '2', '3'].map((n) => ({ pipeline: 'test.op.flaky', partition: { n }, maxAttempts: 1 })),
    );
    const ids = outcomes.map((o) => o.item.id);
    await expect
      .poll(async () => (await Promise.all(ids.map(async (id) => (await h.app.store.getItem(id))!.state))).join(','), { timeout: 20_000 })
      .toBe('FAILED,FAILED,FAILED');
    broken.clear();
    await page.goto('/grid/test.op.flaky');
    const cellOf = (id: number) => page.locator(`td.cell:has(a[href="/items/${id}"])`);
    await cellOf(ids[0]!).click({ modifiers: ['Shift'] });
    await cellOf(ids[2]!).click({ modifiers: ['Shift'] });
    expect(await page.textContent('#bulk-count')).toBe('2 selected');
    expect(await cellOf(ids[0]!).getAttribute('class')).toContain('selected');
    expect(page.url()).toContain('/grid/test.op.flaky'); // a selecting click does not navigate
    await page.click('#bulk button[data-action="retry"]');
    await expect.poll(() => page.textContent('#action-msg')).toContain('retry: 2 item(s) done');
    await expect.poll(() => cellOf(ids[0]!).getAttribute('data-state'), { timeout: 20_000 }).toBe('COMPLETE');
    await expect.poll(() => cellOf(ids[2]!).getAttribute('data-state'), { timeout: 20_000 }).toBe('COMPLETE');
    expect(await cellOf(ids[1]!).getAttribute('data-state')).toBe('FAILED');
  });
});
