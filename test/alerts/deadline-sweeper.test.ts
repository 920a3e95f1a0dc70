/**
 * The deadline sweeper in process, on a real SQLite file, driven with explicit instants:
 * a FINRA week due next_open+3h (Monday 12:30 ET, Tuesday after a Monday holiday), with the
 * schedule's tiers expected even when no item exists; close+2h across the 2026-11-27 early
 * close; once per partition with two sweepers; no replay of deadlines before tracking began.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import type { SluiceConfigInput } from '../../src/config/schema.js';
import { compileDeadlines } from '../../src/engine/alerts/deadline-rules.js';
import { DeadlineSweeper } from '../../src/engine/alerts/deadline-sweeper.js';
import { itemDeadlineView } from '../../src/engine/alerts/deadline-view.js';
import { alertStoreFor } from '../../src/store/alert-store.js';
import { buildEnqueueSpec } from '../../src/engine/enqueue.js';
import type { WorkItem } from '../../src/core/work-item.js';

const apps: SluiceApp[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function appWith(extra: Partial<SluiceConfigInput>): Promise<SluiceApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-deadline-'));
  dirs.push(dir);
  const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, log_level: 'silent', ...extra });
  const app = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent' });
  apps.push(app);
  return app;
}

const sweeperOf = (app: SluiceApp) => new DeadlineSweeper(alertStoreFor(app.store), compileDeadlines(app.config, app.registry), app.logger);
const at = (iso: string) => new Date(iso);

describe('deadline sweeper', () => {
  it('a FINRA week is due next_open+3h; tiers the schedule expects are missed even without an item; a met one is stored met', async () => {
    const app = await appWith({
      schedules: [
        {
          name: 'finra-weekly',
          pipeline: 'finra.otc_transparency.ingest_week',
          cron: '30 10 * * 1',
          timezone: 'America/New_York',
          partitions: { lookback_weeks: 1, tier: ['NMS_TIER_1', 'OTC'] },
          deadline: 'next_open+3h',
          enabled: true,
        },
      ],
    });
    const [rule] = compileDeadlines(app.config, app.registry);
    expect(rule).toMatchObject({
      pipelineKey: 'finra.otc_transparency.ingest_week',
      dayKey: 'week_ending',
      expected: [{ tier: 'NMS_TIER_1' }, { tier: 'OTC' }],
    });
    // Week ending Fri 2027-01-15; Monday 01-18 is MLK day, so the next open is Tue 09:30 ET.
    // (A week still ahead: the item below completes on the real clock, before its deadline.)
    expect(rule!.dueAt('2027-01-15').toISOString()).toBe('2027-01-19T17:30:00.000Z');
    const sweeper = sweeperOf(app);
    await sweeper.sweep(at('2027-01-12T00:00:00Z')); // creates the cursor: nothing before is replayed
    const tier1 = (
      await app.store.enqueue([
        buildEnqueueSpec(app.registry, { pipeline: 'finra.otc_transparency.ingest_week', partition: { week_ending: '2027-01-15', tier: 'NMS_TIER_1' } }).spec,
      ])
    )[0]!.item;
    const [claimed] = await app.store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 });
    await app.store.complete([{ itemId: tier1.id, attemptId: claimed!.attemptId, workerId: 'w' }]);
    const alerts = alertStoreFor(app.store);
    expect(await itemDeadlineView(alerts, [rule!], tier1, at('2027-01-19T12:00:00Z'))).toMatchObject({ state: 'pending', due_at: '2027-01-19T17:30:00.000Z' });
    expect(await sweeper.sweep(at('2027-01-19T17:29:59Z'))).toBe(0); // a second early
    // Two schedulers sweep the same instant: the OTC tier (never enqueued) misses once.
    const results = await Promise.all([sweeper.sweep(at('2027-01-19T17:30:00Z')), sweeperOf(app).sweep(at('2027-01-19T17:30:00Z'))]);
    expect(results.reduce((a, b) => a + b, 0)).toBe(1);
    const rows = await alerts.deadlinesFor('finra.otc_transparency', 'ingest_week', [
      'tier=NMS_TIER_1|week_ending=2027-01-15',
      'tier=OTC|week_ending=2027-01-15',
    ]);
    expect(rows.map((r) => [r.partitionKey, r.state, r.itemId]).sort()).toEqual([
      ['tier=NMS_TIER_1|week_ending=2027-01-15', 'met', tier1.id],
      ['tier=OTC|week_ending=2027-01-15', 'missed', null],
    ]);
    expect(await itemDeadlineView(alerts, [rule!], tier1)).toMatchObject({ state: 'met', met_at: expect.any(String) });
    const events = await alerts.unfannedEvents(10);
    expect(events.map((e) => [e.event, e.partitionKey])).toEqual([['deadline_missed', 'tier=OTC|week_ending=2027-01-15']]);
    // Later sweeps do not decide it again.
    expect(await sweeper.sweep(at('2027-01-25T12:00:00Z'))).toBe(0);
    expect(await alerts.unfannedEvents(10)).toHaveLength(1);
  });

  it('close+2h follows the early close of 2026-11-27 (15:00 ET); an item still running then is missed, and a backfilled old day is untracked', async () => {
    const app = await appWith({ pipelines: [{ domain: 'ops', name: 'noop', deadline: 'close+2h' }] });
    const [rule] = compileDeadlines(app.config, app.registry);
    expect(rule!.dueAt('2026-11-27').toISOString()).toBe('2026-11-27T20:00:00.000Z');
    expect(rule!.dueAt('2026-11-25').toISOString()).toBe('2026-11-25T23:00:00.000Z');
    const sweeper = sweeperOf(app);
    await sweeper.sweep(at('2026-11-27T12:00:00Z'));
    const spec = (date: string) => buildEnqueueSpec(app.registry, { pipeline: 'ops.noop', partition: { date } }).spec;
    const [day, old] = (await app.store.enqueue([spec('2026-11-27'), spec('2026-11-20')])).map((o) => o.item) as [WorkItem, WorkItem];
    await app.store.claim({ workerId: 'w', limit: 1, leaseMs: 600_000 }); // RUNNING past the deadline
    expect(await sweeper.sweep(at('2026-11-27T20:00:01Z'))).toBe(1);
    const alerts = alertStoreFor(app.store);
    expect(await itemDeadlineView(alerts, [rule!], day)).toMatchObject({ state: 'missed', due_at: '2026-11-27T20:00:00.000Z', met_at: null });
    expect(await itemDeadlineView(alerts, [rule!], old)).toMatchObject({ state: 'untracked' });
    const [event] = await alerts.unfannedEvents(10);
    expect(event).toMatchObject({ event: 'deadline_missed', itemId: day.id, error: 'not COMPLETE by its deadline 2026-11-27T20:00:00.000Z' });
  });
});
