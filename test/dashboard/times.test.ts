import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonOutput, runSluice } from '../helpers/process.js';
import { startHarness, type Harness } from '../api/support/harness.js';

/**
 * The times check: a schedule pinned to America/New_York. The dashboard must print each next
 * tick as the same instant `sluice schedule next` prints — in UTC with "UTC" written, and in
 * the schedule's own zone with its offset — never a New York wall time labelled UTC.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const skip = !existsSync(CHROMIUM) && !process.env.CI;

const SCHEDULE = { name: 'ny-open', pipeline: 'ops.noop', cron: '30 9 * * 1-5', timezone: 'America/New_York' };

/** `2026-12-02T09:30:00-05:00` -> the two texts a person should see, computed from the CLI's
 * own string (local wall time and offset as printed) and from Date (UTC). */
function expectedTexts(iso: string): { utc: string; ny: string } {
  const utc = new Date(iso).toISOString();
  return {
    utc: `${utc.slice(0, 10)}\u00a0${utc.slice(11, 19)}\u00a0UTC`,
    ny: `${iso.slice(0, 10)}\u00a0${iso.slice(11, 19)}\u00a0${iso.slice(19)}\u00a0America/New_York`,
  };
}

describe.skipIf(skip)('dashboard times against `sluice schedule next` (America/New_York)', () => {
  let h: Harness;
  let browser: Browser;
  let dir: string;
  let configPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-times-'));
    const config = { timezone: 'America/New_York', schedules: [SCHEDULE] };
    configPath = path.join(dir, 'sluice.config.json');
    writeFileSync(configPath, JSON.stringify(config));
    h = await startHarness({ config, scheduler: (app) => app.createScheduler() });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cliNext(): Promise<string[]> {
    const r = await runSluice([
      '--config',
      configPath,
      '--db',
      `sqlite:${path.join(dir, 'cli.db')}`,
      'schedule',
      'next',
      SCHEDULE.name,
      '--count',
      '3',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    return parseJsonOutput<string[]>(r);
  }

  it('schedules page: each next tick in UTC and in the schedule zone, matching the CLI', async () => {
    const next = await cliNext();
    expect(next).toHaveLength(3);
    expect(next[0]).toMatch(/-0[45]:00$/); // the CLI speaks New York offsets
    const page = await (await browser.newContext({ baseURL: h.base, timezoneId: 'Asia/Tokyo' })).newPage();
    await page.goto('/schedules');
    const items = page.locator(`section.schedule[data-name="${SCHEDULE.name}"] ul.ticks li`);
    expect(await items.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      const want = expectedTexts(next[i]!);
      const li = items.nth(i);
      expect(await li.locator('time.instant').textContent()).toBe(want.utc);
      expect(await li.locator('time.zoned').textContent()).toBe(want.ny);
      expect(Date.parse((await li.locator('time.instant').getAttribute('datetime'))!)).toBe(Date.parse(next[i]!));
    }
    // The live refresh (client script, same rule) must print the same text.
    await page.waitForFunction(() => (globalThis as any).document.getElementById('live')?.textContent === 'live');
    await expect.poll(async () => items.nth(0).locator('time.instant').textContent(), { timeout: 10_000 }).toBe(expectedTexts(next[0]!).utc);

    // The viewer picks their own zone (Tokyo here): the same instant, +09:00 written.
    await page.selectOption('#tz-select', 'local');
    const tokyo = new Date(Date.parse(next[0]!) + 9 * 3_600_000).toISOString();
    expect(await items.nth(0).locator('time.instant').textContent()).toBe(`${tokyo.slice(0, 10)}\u00a0${tokyo.slice(11, 19)}\u00a0+09:00\u00a0Asia/Tokyo`);
    // The schedule's own zone does not move with the viewer's choice.
    expect(await items.nth(0).locator('time.zoned').textContent()).toBe(expectedTexts(next[0]!).ny);
    // The choice survives a reload (server renders UTC, the script re-zones).
    await page.reload();
    await expect.poll(async () => items.nth(0).locator('time.instant').textContent()).toContain('+09:00');
    await page.context().close();
  });

  it('overview: the next tick in UTC with the schedule zone beside it', async () => {
    const next = await cliNext();
    const page = await (await browser.newContext({ baseURL: h.base })).newPage();
    await page.goto('/');
    const first = page.locator('#ticks tbody tr').first();
    const want = expectedTexts(next[0]!);
    expect(await first.locator('time.instant').textContent()).toBe(want.utc);
    expect(await first.locator('time.zoned').textContent()).toBe(want.ny);
    await page.context().close();
  });
});
