import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import type { SluiceConfigInput } from '../../src/config/schema.js';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';

const dirs: string[] = [];
const apps: SluiceApp[] = [];
const dbs: TestDatabase[] = [];

async function appOn(database: string, schedules: SluiceConfigInput['schedules']): Promise<SluiceApp> {
  const config = parseConfigObject({ database, log_level: 'silent', schedules });
  const app = await createApp({ loaded: { config, file: null, baseDir: tmpdir() }, logLevel: 'silent' });
  apps.push(app);
  return app;
}

async function appWith(schedules: SluiceConfigInput['schedules']): Promise<SluiceApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-interval-'));
  dirs.push(dir);
  return appOn(`sqlite:${path.join(dir, 'q.db')}`, schedules);
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const db of dbs.splice(0)) await db.dispose();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const at = (iso: string) => new Date(iso);
const ticksOf = async (app: SluiceApp, name: string) =>
  (await app.store.listTicks(name, 1000)).reverse().map((t) => ({ at: t.scheduledAt.toISOString(), outcome: t.outcome, items: t.itemIds.length }));

describe('scheduler: every and window session', () => {
  it('every 15m in the session window fires at the open, not before, and stops at the early close', async () => {
    const app = await appWith([
      { name: 'q', pipeline: 'ops.noop', every: '15m', calendar: 'XNYS', window: 'session', overlap: 'allow', partitions: { date: 'session' } },
    ]);
    const s = app.createScheduler();
    // Walk the day after Thanksgiving 2026 (13:00 close) minute by minute from 09:00 to 16:00 ET.
    for (let t = at('2026-11-27T14:00:00Z').getTime(); t <= at('2026-11-27T21:00:00Z').getTime(); t += 60_000) await s.evaluate(new Date(t));
    const ticks = await ticksOf(app, 'q');
    expect(ticks.every((t) => t.outcome === 'fired')).toBe(true);
    expect(ticks[0]!.at).toBe('2026-11-27T14:30:00.000Z'); // 09:30 ET
    expect(ticks.at(-1)!.at).toBe('2026-11-27T18:00:00.000Z'); // 13:00 ET
    expect(ticks).toHaveLength(15);
    // Each tick its own item? No: partitions by session date, so one item for the day.
    expect(await app.store.countItems()).toBe(1);
  });

  it('cron */15 9-15 with window session no longer fires at 09:00 or after the early close', async () => {
    const app = await appWith([
      { name: 'c', pipeline: 'ops.noop', cron: '*/15 9-15 * * *', timezone: 'America/New_York', calendar: 'XNYS', window: 'session', overlap: 'allow' },
    ]);
    const s = app.createScheduler();
    for (let t = at('2026-12-24T14:00:00Z').getTime(); t <= at('2026-12-24T21:00:00Z').getTime(); t += 5 * 60_000) await s.evaluate(new Date(t));
    // The first pass also records the sessions between this test's real start and 12-24 as
    // missed (12-24 is in the future when this was written); keep the day under test.
    const ticks = (await ticksOf(app, 'c')).filter((t) => t.outcome === 'fired');
    expect(ticks.every((t) => t.at.startsWith('2026-12-24'))).toBe(true);
    expect(ticks.map((t) => t.at.slice(11, 16))).toEqual([
      '14:30',
      '14:45',
      '15:00',
      '15:15',
      '15:30',
      '15:45',
      '16:00',
      '16:15',
      '16:30',
      '16:45',
      '17:00',
      '17:15',
      '17:30',
      '17:45',
      '18:00',
    ]);
  });

  it('interval schedule down over a night: with catch-up and coalesce fires the latest session tick once', async () => {
    const app = await appWith([
      { name: 'q', pipeline: 'ops.noop', every: '30m', calendar: 'XNYS', window: 'session', catchup: '3d', coalesce: true, overlap: 'allow' },
    ]);
    await app.createScheduler().evaluate(at('2026-11-25T20:30:00Z')); // Wed 15:30 ET: fires 15:30
    // Down until Friday 10:10 ET (Thursday is Thanksgiving): due are Wed 16:00, Fri 09:30, 10:00.
    await app.createScheduler().evaluate(at('2026-11-27T15:10:00Z'));
    expect(await ticksOf(app, 'q')).toEqual([
      { at: '2026-11-25T20:30:00.000Z', outcome: 'fired', items: 1 },
      { at: '2026-11-25T21:00:00.000Z', outcome: 'coalesced', items: 0 },
      { at: '2026-11-27T14:30:00.000Z', outcome: 'coalesced', items: 0 },
      { at: '2026-11-27T15:00:00.000Z', outcome: 'fired', items: 1 },
    ]);
  });

  it('interval schedule down for 2 hours without catch-up: the ticks are recorded missed; a tick within misfire_grace fires', async () => {
    const app = await appWith([{ name: 'i', pipeline: 'ops.noop', every: '30m', start: '2026-01-05T10:10:00Z', misfire_grace: '5m', overlap: 'allow' }]);
    await app.createScheduler().evaluate(at('2026-01-05T10:10:00Z'));
    await app.createScheduler().evaluate(at('2026-01-05T12:13:00Z'));
    expect((await ticksOf(app, 'i')).map((t) => `${t.at.slice(11, 16)} ${t.outcome}`)).toEqual([
      '10:10 fired',
      '10:40 missed',
      '11:10 missed',
      '11:40 missed',
      '12:10 fired',
    ]);
  });

  it('without catch-up or coalesce but with a catch-up window, every due interval tick fires', async () => {
    const app = await appWith([{ name: 'e', pipeline: 'ops.noop', every: '15m', catchup: '1h', coalesce: false, overlap: 'allow' }]);
    await app.createScheduler().evaluate(at('2026-01-05T10:00:00Z'));
    await app.createScheduler().evaluate(at('2026-01-05T10:50:00Z'));
    expect((await ticksOf(app, 'e')).map((t) => `${t.at.slice(11, 16)} ${t.outcome}`)).toEqual(['10:00 fired', '10:15 fired', '10:30 fired', '10:45 fired']);
    expect(await app.store.countItems()).toBe(4); // {tick: instant} per tick
  });

  it('rejects combinations that do not say what fires', async () => {
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', every: '15m', cron: '* * * * *' }])).rejects.toThrow(
      /schedules\[0\] \(x\)\.every.*not be combined with "cron"/,
    );
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', every: '15m', calendar: 'XNYS' }])).rejects.toThrow(
      /\.window.*be "session" when "every" has a "calendar"/,
    );
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', cron: '* * * * *', window: 'session' }])).rejects.toThrow(
      /\.calendar.*be given when "window" is used/,
    );
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', cron: '* * * * *', jitter: '1m' }])).rejects.toThrow(/\.jitter.*only be used with "every"/);
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', every: '15m', start: 'yesterday' }])).rejects.toThrow(/\.start.*ISO-8601/);
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', every: '15m', jitter: '20m' }])).rejects.toThrow(/jitter.*shorter than "every"/);
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', calendar: 'XNYS', at: 'open-5m', window: 'session' }])).rejects.toThrow(
      /\.at.*fall inside the session/,
    );
    await expect(appWith([{ name: 'x', pipeline: 'ops.noop', every: '15m', window: 'always' as never, calendar: 'XNYS' }])).rejects.toThrow(/window/);
  });
});

describe.each(backendsUnderTest())('two schedulers on one %s database, every + window', (backend) => {
  it('each interval tick is recorded once and enqueues once, though both evaluate at the same instants', async () => {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    const schedules: SluiceConfigInput['schedules'] = [
      { name: 'q', pipeline: 'ops.noop', every: '15m', calendar: 'XNYS', window: 'session', coalesce: false, catchup: '1d', overlap: 'allow' },
    ];
    const a = await appOn(db.url, schedules);
    const b = await appOn(db.url, schedules);
    const sa = a.createScheduler();
    const sb = b.createScheduler();
    // Both act as if they lead (evaluate bypasses the lease) - the tick row must still be unique.
    // The day after Thanksgiving 2026 (13:00 close); before the test runs, so no backlog.
    // The first pass lands on the 09:30 open (a new schedule does not replay older ticks);
    // later passes catch up from the last recorded tick.
    for (const now of ['2026-11-27T14:30:00Z', '2026-11-27T15:01:00Z', '2026-11-27T18:05:00Z']) {
      await Promise.all([sa.evaluate(at(now)), sb.evaluate(at(now))]);
    }
    const ticks = await ticksOf(a, 'q');
    expect(ticks).toHaveLength(15); // 09:30 .. 13:00 ET
    expect(new Set(ticks.map((t) => t.at)).size).toBe(15);
    expect(ticks.every((t) => t.outcome === 'fired' && t.items === 1)).toBe(true);
    expect(await a.store.countItems()).toBe(15);
  });
});
