/**
 * The AlertStore contract (outbox and partition deadlines, migration 6) against SQLite on a
 * real file and PostgreSQL on its own schema: the triggers that write the outbox in the
 * transaction of the state change, fan-out, ordered claims, and the deadline cursor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { alertStoreFor } from '../../src/store/alert-store.js';
import type { EnqueueSpec, Store } from '../../src/store/store.js';
import type { WorkItem } from '../../src/core/work-item.js';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';

const dbs: TestDatabase[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.dispose();
});

const spec = (partition: Record<string, string>, maxAttempts = 1): EnqueueSpec => ({
  domain: 'ops',
  pipeline: 'noop',
  partition,
  maxAttempts,
  backoff: { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 },
});

async function failOnce(store: Store, itemId: number, retryAt: Date | null, error = 'boom') {
  const [c] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 });
  expect(c?.id).toBe(itemId);
  return store.fail({ itemId, attemptId: c!.attemptId, workerId: 'w', error, status: 'failed', retryAt });
}

async function completeOnce(store: Store, itemId: number) {
  const [c] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000 });
  expect(c?.id).toBe(itemId);
  await store.complete([{ itemId, attemptId: c!.attemptId, workerId: 'w' }]);
}

describe.each(backendsUnderTest())('AlertStore on %s', (backend) => {
  async function open() {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    return { store: db.store, alerts: alertStoreFor(db.store) };
  }

  it('failed (attempts exhausted) and recovered are written with the state change; a retryable failure and a plain completion are not', async () => {
    const { store, alerts } = await open();
    const item = (await store.enqueue([spec({ date: '2026-11-27' }, 2)]))[0]!.item;
    await failOnce(store, item.id, new Date()); // attempt 1 of 2: RETRY_WAIT, no alert
    expect(await alerts.unfannedEvents(10)).toEqual([]);
    await failOnce(store, item.id, new Date(), 'HTTP 503 from vendor'); // attempt 2 of 2: FAILED
    const [failed] = await alerts.unfannedEvents(10);
    expect(failed).toMatchObject({
      event: 'failed',
      domain: 'ops',
      pipeline: 'noop',
      partitionKey: 'date=2026-11-27',
      itemId: item.id,
      error: 'HTTP 503 from vendor',
    });
    await store.retry({ id: item.id });
    await completeOnce(store, item.id);
    const events = await alerts.unfannedEvents(10);
    expect(events.map((e) => e.event)).toEqual(['failed', 'recovered']);
    // A second completion (forced re-run) after a success is not a recovery.
    await store.rerun(item.id);
    await completeOnce(store, item.id);
    const other = (await store.enqueue([spec({ date: '2026-11-30' })]))[0]!.item;
    await completeOnce(store, other.id);
    expect((await alerts.unfannedEvents(10)).map((e) => e.event)).toEqual(['failed', 'recovered']);
  });

  it('schedule_missed: one event for a run of consecutive missed ticks, again after a fired one', async () => {
    const { store, alerts } = await open();
    const tick = (iso: string, outcome: 'missed' | 'fired') =>
      store.fireTick({ schedule: 's', scheduledAt: new Date(iso), kind: 'cron', outcome, detail: outcome === 'missed' ? 'late' : null, schedulerId: 'x' }, []);
    await tick('2026-01-05T10:00:00Z', 'missed');
    await tick('2026-01-05T10:15:00Z', 'missed');
    await tick('2026-01-05T10:30:00Z', 'fired');
    await tick('2026-01-05T10:45:00Z', 'missed');
    await tick('2026-01-05T10:45:00Z', 'missed'); // the same tick again (another scheduler): ignored
    const events = await alerts.unfannedEvents(10);
    expect(events.map((e) => [e.event, e.schedule, e.at.toISOString()])).toEqual([
      ['schedule_missed', 's', '2026-01-05T10:00:00.000Z'],
      ['schedule_missed', 's', '2026-01-05T10:45:00.000Z'],
    ]);
  });

  it('fan-out is idempotent; each alert gets its oldest pending delivery first, claimed by one dispatcher at a time', async () => {
    const { alerts } = await open();
    for (const k of ['a', 'b', 'c']) {
      expect(
        await alerts.insertEvent({
          event: 'test',
          domain: null,
          pipeline: null,
          partitionKey: null,
          itemId: null,
          schedule: null,
          error: null,
          at: new Date(),
          dedupeKey: k,
        }),
      ).toBe(true);
    }
    expect(
      await alerts.insertEvent({
        event: 'test',
        domain: null,
        pipeline: null,
        partitionKey: null,
        itemId: null,
        schedule: null,
        error: null,
        at: new Date(),
        dedupeKey: 'a',
      }),
    ).toBe(false);
    const events = await alerts.unfannedEvents(10);
    const deliveries = events.flatMap((e) => [
      { eventId: e.id, alert: 'ops' },
      { eventId: e.id, alert: 'desk' },
    ]);
    const now = new Date();
    await alerts.fanOut(
      events.map((e) => e.id),
      deliveries,
      now,
    );
    await alerts.fanOut(
      events.map((e) => e.id),
      deliveries,
      now,
    ); // a second dispatcher doing the same
    expect(await alerts.unfannedEvents(10)).toEqual([]);
    expect(await alerts.countDeliveries()).toEqual([
      { alert: 'desk', state: 'pending', count: 3 },
      { alert: 'ops', state: 'pending', count: 3 },
    ]);
    const first = await alerts.claimDue(now, 30_000);
    expect(first.map((d) => [d.alert, d.event.id])).toEqual([
      ['ops', events[0]!.id],
      ['desk', events[0]!.id],
    ]);
    expect(await alerts.claimDue(now, 30_000)).toEqual([]); // claimed: nobody else gets them
    const [ops, desk] = first;
    await alerts.markDelivered(ops!.id, now);
    await alerts.markRetry(desk!.id, new Date(now.getTime() + 20_000), 'HTTP 503');
    // ops moves on to its next event; desk's head waits for its back-off (order is kept).
    const second = await alerts.claimDue(now, 30_000);
    expect(second.map((d) => [d.alert, d.event.id])).toEqual([['ops', events[1]!.id]]);
    const later = await alerts.claimDue(new Date(now.getTime() + 21_000), 30_000);
    expect(later.map((d) => [d.alert, d.event.id, d.attempts, d.lastError])).toEqual([['desk', events[0]!.id, 1, 'HTTP 503']]);
    await alerts.markRejected(later[0]!.id, 'HTTP 400');
    const [newest] = await alerts.listDeliveries(1);
    expect(newest!.alert).toBe('desk');
    expect((await alerts.countDeliveries()).find((c) => c.alert === 'desk' && c.state === 'rejected')?.count).toBe(1);
    // Retention: only events whose every delivery is finished go; a pending one keeps its event.
    const later2 = new Date(now.getTime() + 86_400_000);
    expect(await alerts.pruneAlerts(later2)).toBe(1); // event a: ops delivered, desk rejected
    expect((await alerts.listDeliveries(10)).map((d) => d.event.id).sort()).toEqual([events[1]!.id, events[1]!.id, events[2]!.id, events[2]!.id]);
    expect(await alerts.pruneAlerts(new Date(now.getTime() - 1000))).toBe(0);
  });

  it('deadlines: the cursor moves once per sweep; met and missed are stored once, a miss writes one event', async () => {
    const { store, alerts } = await open();
    const [done, late] = (
      await store.enqueue([
        spec({ date: '2026-11-27', symbol: 'AAPL' }),
        spec({ date: '2026-11-27', symbol: 'MSFT' }),
        spec({ date: '2026-11-30', symbol: 'AAPL' }),
      ])
    ).map((o) => o.item) as [WorkItem, WorkItem];
    await completeOnce(store, done.id);
    const day = await alerts.itemsOfDay('ops', 'noop', 'date', '2026-11-27');
    expect(day.map((d) => [d.partitionKey, d.state, d.firstCompletedAt !== null])).toEqual([
      ['date=2026-11-27|symbol=AAPL', 'COMPLETE', true],
      ['date=2026-11-27|symbol=MSFT', 'PENDING', false],
    ]);
    const t0 = new Date('2026-11-27T19:00:00Z');
    const due = new Date('2026-11-27T20:00:00Z');
    expect(await alerts.deadlineCursor('ops.noop')).toBeNull();
    expect(await alerts.recordDeadlines({ pipeline: 'ops.noop', from: null, to: t0, decisions: [], now: t0 })).toEqual({ moved: true, missed: 0 });
    expect(await alerts.recordDeadlines({ pipeline: 'ops.noop', from: null, to: t0, decisions: [], now: t0 })).toEqual({ moved: false, missed: 0 });
    const decisions = [
      { domain: 'ops', pipeline: 'noop', partitionKey: day[0]!.partitionKey, itemId: done.id, dueAt: due, metAt: day[0]!.firstCompletedAt },
      { domain: 'ops', pipeline: 'noop', partitionKey: day[1]!.partitionKey, itemId: late.id, dueAt: due, metAt: null },
      { domain: 'ops', pipeline: 'noop', partitionKey: 'date=2026-11-27|symbol=IBM', itemId: null, dueAt: due, metAt: null },
    ];
    const t1 = new Date('2026-11-27T20:00:05Z');
    expect(await alerts.recordDeadlines({ pipeline: 'ops.noop', from: t0, to: t1, decisions, now: t1 })).toEqual({ moved: true, missed: 2 });
    // A second sweeper that read the old cursor changes nothing.
    expect(await alerts.recordDeadlines({ pipeline: 'ops.noop', from: t0, to: t1, decisions, now: t1 })).toEqual({ moved: false, missed: 0 });
    // And a re-decision of the same partitions (cursor moved on) writes no second event.
    expect(await alerts.recordDeadlines({ pipeline: 'ops.noop', from: t1, to: new Date(t1.getTime() + 1000), decisions, now: t1 })).toEqual({
      moved: true,
      missed: 0,
    });
    expect((await alerts.deadlineCursor('ops.noop'))?.toISOString()).toBe('2026-11-27T20:00:06.000Z');
    const rows = await alerts.deadlinesFor(
      'ops',
      'noop',
      decisions.map((d) => d.partitionKey),
    );
    expect(rows.map((r) => [r.partitionKey, r.state, r.itemId]).sort()).toEqual([
      ['date=2026-11-27|symbol=AAPL', 'met', done.id],
      ['date=2026-11-27|symbol=IBM', 'missed', null],
      ['date=2026-11-27|symbol=MSFT', 'missed', late.id],
    ]);
    expect(await alerts.countDeadlines()).toEqual([
      { domain: 'ops', pipeline: 'noop', state: 'met', count: 1 },
      { domain: 'ops', pipeline: 'noop', state: 'missed', count: 2 },
    ]);
    expect(await alerts.deadlineItemIds('ops', 'noop', 'missed', 10)).toEqual([late.id]);
    expect(await alerts.deadlineItemIds('ops', 'noop', 'met', 10)).toEqual([done.id]);
    const events = (await alerts.unfannedEvents(10)).filter((e) => e.event === 'deadline_missed');
    expect(events.map((e) => [e.partitionKey, e.itemId, e.at.toISOString()])).toEqual([
      ['date=2026-11-27|symbol=MSFT', late.id, '2026-11-27T20:00:00.000Z'],
      ['date=2026-11-27|symbol=IBM', null, '2026-11-27T20:00:00.000Z'],
    ]);
    expect(events[1]!.error).toBe('no work item for this partition by its deadline 2026-11-27T20:00:00.000Z');
  });
});
