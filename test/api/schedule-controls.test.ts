import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scheduler } from '../../src/engine/scheduler/scheduler.js';
import type { Store } from '../../src/store/store.js';
import { createPgTestSchema, describeIfPg, type PgTestSchema } from '../helpers/pg.js';
import { startHarness, type Harness } from './support/harness.js';

/** Schedule pause / resume / trigger over the REST API, on SQLite and PostgreSQL: a paused
 * schedule records its due ticks as skipped_paused and enqueues nothing; every change is an
 * event. Time is driven through `scheduler.evaluate(at)`, not waited for. */
const SCHEDULE = { name: 'every-minute', pipeline: 'ops.noop', cron: '* * * * *', timezone: 'America/New_York', misfire_grace: '1h', coalesce: false };

function controlSuite(name: string, openStore?: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  let h: Harness;
  let cleanup: (() => Promise<void>) | undefined;
  let scheduler: Scheduler;

  beforeAll(async () => {
    const opened = await openStore?.();
    cleanup = opened?.cleanup;
    h = await startHarness({
      config: { schedules: [SCHEDULE] },
      store: opened?.store,
      scheduler: (app) => (scheduler = app.createScheduler({ store: app.store })),
    });
  });
  afterAll(async () => {
    await h?.close();
    await cleanup?.();
  });

  it(`${name}: pause stops ticks from firing, resume brings them back, both are events`, async () => {
    const paused = await h.call('POST', `/api/v1/schedules/${SCHEDULE.name}/pause`, { body: { reason: 'vendor outage' } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ schedule: SCHEDULE.name, paused: true, actor: 'api' });
    expect((await h.call('POST', `/api/v1/schedules/${SCHEDULE.name}/pause`)).status).toBe(400);
    const listed = (await h.call('GET', '/api/v1/schedules')).body.schedules[0];
    expect(listed.paused).toBe(true);

    const t0 = Date.now();
    await scheduler.evaluate(new Date(t0 + 3 * 60_000));
    const whilePaused = (await h.call('GET', '/api/v1/schedules')).body.schedules[0].recent_ticks;
    expect(whilePaused.length).toBeGreaterThan(0);
    expect(whilePaused.every((t: { outcome: string }) => t.outcome === 'skipped_paused')).toBe(true);
    expect(await h.app.store.countItems()).toBe(0);

    const resumed = await h.call('POST', `/api/v1/schedules/${SCHEDULE.name}/resume`);
    expect(resumed.body.paused).toBe(false);
    expect((await h.call('POST', `/api/v1/schedules/${SCHEDULE.name}/resume`)).status).toBe(400);
    await scheduler.evaluate(new Date(t0 + 6 * 60_000));
    const after = (await h.call('GET', '/api/v1/schedules')).body.schedules[0].recent_ticks;
    expect(after.filter((t: { outcome: string }) => t.outcome === 'fired').length).toBeGreaterThan(0);
    expect(await h.app.store.countItems()).toBeGreaterThan(0);

    const trigger = await h.call('POST', `/api/v1/schedules/${SCHEDULE.name}/trigger`);
    expect(trigger.status).toBe(200);
    const events = (await h.call('GET', `/api/v1/schedules/${SCHEDULE.name}/events`)).body.events;
    expect(events.map((e: { event: string }) => e.event)).toEqual(['triggered', 'resumed', 'paused']);
    expect(events[2]).toMatchObject({ actor: 'api', detail: 'vendor outage' });
  });

  it(`${name}: unknown schedule is 404 naming the known ones`, async () => {
    const r = await h.call('POST', '/api/v1/schedules/nope/pause');
    expect(r.status).toBe(404);
    expect(r.text).toContain(SCHEDULE.name);
    expect((await h.call('GET', '/api/v1/schedules/nope/events')).status).toBe(404);
  });
}

describe('schedule pause/resume on SQLite', () => controlSuite('sqlite'));

describeIfPg('schedule pause/resume on PostgreSQL', () => {
  let db: PgTestSchema;
  controlSuite('postgres', async () => {
    db = createPgTestSchema();
    const store = db.open();
    await store.migrate();
    return { store, cleanup: () => db.drop() };
  });
});
