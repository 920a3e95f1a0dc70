import type { Database as DB } from 'better-sqlite3';
import type { WorkState } from '../../core/states.js';
import type { AlertDelivery, AlertEvent, AlertStore, DayItem, DeadlineRecord, DeadlineSweep } from '../alert-store.js';

interface EventRow {
  id: number;
  event: AlertEvent['event'];
  domain: string | null;
  pipeline: string | null;
  partition_key: string | null;
  item_id: number | null;
  schedule: string | null;
  error: string | null;
  at: number;
}

const toEvent = (r: EventRow): AlertEvent => ({
  id: r.id,
  event: r.event,
  domain: r.domain,
  pipeline: r.pipeline,
  partitionKey: r.partition_key,
  itemId: r.item_id,
  schedule: r.schedule,
  error: r.error,
  at: new Date(r.at),
});

type DeliveryRow = EventRow & {
  d_id: number;
  alert: string;
  state: AlertDelivery['state'];
  attempts: number;
  next_at: number;
  last_error: string | null;
  delivered_at: number | null;
};

const toDelivery = (r: DeliveryRow): AlertDelivery => ({
  id: r.d_id,
  alert: r.alert,
  state: r.state,
  attempts: r.attempts,
  nextAt: new Date(r.next_at),
  lastError: r.last_error,
  deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
  event: toEvent(r),
});

const DELIVERY_SELECT = `SELECT d.id AS d_id, d.alert, d.state, d.attempts, d.next_at, d.last_error, d.delivered_at, e.* FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id`;

/** Outbox and deadlines on the SQLite store's own connection (migration 6). */
export class SqliteAlertStore implements AlertStore {
  constructor(private readonly db: DB) {}

  async unfannedEvents(limit: number): Promise<AlertEvent[]> {
    return (this.db.prepare('SELECT * FROM alert_events WHERE fanned_out = 0 ORDER BY id LIMIT ?').all(limit) as EventRow[]).map(toEvent);
  }

  async fanOut(eventIds: readonly number[], deliveries: readonly { eventId: number; alert: string }[], now: Date): Promise<void> {
    const insert = this.db.prepare(`INSERT OR IGNORE INTO alert_deliveries (event_id, alert, state, next_at) VALUES (?, ?, 'pending', ?)`);
    const mark = this.db.prepare('UPDATE alert_events SET fanned_out = 1 WHERE id = ?');
    this.db
      .transaction(() => {
        for (const d of deliveries) insert.run(d.eventId, d.alert, now.getTime());
        for (const id of eventIds) mark.run(id);
      })
      .immediate();
  }

  async claimDue(now: Date, leaseMs: number): Promise<AlertDelivery[]> {
    const t = now.getTime();
    return this.db
      .transaction(() => {
        const heads = this.db
          .prepare(
            `${DELIVERY_SELECT} WHERE d.state = 'pending' AND d.id IN (SELECT min(id) FROM alert_deliveries WHERE state = 'pending' GROUP BY alert)
               AND d.next_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?) ORDER BY d.id`,
          )
          .all(t, t) as DeliveryRow[];
        const claim = this.db.prepare('UPDATE alert_deliveries SET claimed_until = ? WHERE id = ?');
        for (const h of heads) claim.run(t + leaseMs, h.d_id);
        return heads.map(toDelivery);
      })
      .immediate();
  }

  async markDelivered(id: number, at: Date): Promise<void> {
    this.db
      .prepare(
        `UPDATE alert_deliveries SET state = 'delivered', delivered_at = ?, attempts = attempts + 1, claimed_until = NULL, last_error = NULL WHERE id = ?`,
      )
      .run(at.getTime(), id);
  }

  async markRetry(id: number, nextAt: Date, error: string): Promise<void> {
    this.db
      .prepare(`UPDATE alert_deliveries SET attempts = attempts + 1, next_at = ?, last_error = ?, claimed_until = NULL WHERE id = ? AND state = 'pending'`)
      .run(nextAt.getTime(), error, id);
  }

  async markRejected(id: number, error: string): Promise<void> {
    this.db
      .prepare(`UPDATE alert_deliveries SET state = 'rejected', attempts = attempts + 1, last_error = ?, claimed_until = NULL WHERE id = ?`)
      .run(error, id);
  }

  async listDeliveries(limit: number): Promise<AlertDelivery[]> {
    return (this.db.prepare(`${DELIVERY_SELECT} ORDER BY d.id DESC LIMIT ?`).all(limit) as DeliveryRow[]).map(toDelivery);
  }

  async countDeliveries(): Promise<{ alert: string; state: string; count: number }[]> {
    return this.db.prepare('SELECT alert, state, count(*) AS count FROM alert_deliveries GROUP BY alert, state ORDER BY alert, state').all() as {
      alert: string;
      state: string;
      count: number;
    }[];
  }

  async pruneAlerts(before: Date): Promise<number> {
    // Deliveries go with their event (ON DELETE CASCADE).
    return this.db
      .prepare(
        `DELETE FROM alert_events WHERE fanned_out = 1 AND at < ? AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.event_id = alert_events.id AND d.state = 'pending')`,
      )
      .run(before.getTime()).changes;
  }

  async insertEvent(e: Omit<AlertEvent, 'id'> & { dedupeKey: string }): Promise<boolean> {
    const info = this.db
      .prepare(
        'INSERT OR IGNORE INTO alert_events (event, domain, pipeline, partition_key, item_id, schedule, error, at, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(e.event, e.domain, e.pipeline, e.partitionKey, e.itemId, e.schedule, e.error, e.at.getTime(), e.dedupeKey);
    return info.changes === 1;
  }

  async deadlineCursor(pipeline: string): Promise<Date | null> {
    const v = this.db.prepare('SELECT swept_through FROM deadline_cursors WHERE pipeline = ?').pluck().get(pipeline) as number | undefined;
    return v === undefined ? null : new Date(v);
  }

  async recordDeadlines({ pipeline, from, to, decisions, now }: DeadlineSweep): Promise<{ moved: boolean; missed: number }> {
    return this.db
      .transaction(() => {
        const moved =
          from === null
            ? this.db.prepare('INSERT OR IGNORE INTO deadline_cursors (pipeline, swept_through) VALUES (?, ?)').run(pipeline, to.getTime()).changes === 1
            : this.db
                .prepare('UPDATE deadline_cursors SET swept_through = ? WHERE pipeline = ? AND swept_through = ?')
                .run(to.getTime(), pipeline, from.getTime()).changes === 1;
        if (!moved) return { moved, missed: 0 };
        const insert = this.db.prepare(
          'INSERT OR IGNORE INTO partition_deadlines (domain, pipeline, partition_key, item_id, due_at, state, met_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        );
        const event = this.db.prepare(
          `INSERT OR IGNORE INTO alert_events (event, domain, pipeline, partition_key, item_id, error, at, dedupe_key) VALUES ('deadline_missed', ?, ?, ?, ?, ?, ?, ?)`,
        );
        let missed = 0;
        for (const d of decisions) {
          const state = d.metAt ? 'met' : 'missed';
          const fresh =
            insert.run(d.domain, d.pipeline, d.partitionKey, d.itemId, d.dueAt.getTime(), state, d.metAt?.getTime() ?? null, now.getTime()).changes === 1;
          if (fresh && state === 'missed') {
            missed++;
            const why = d.itemId === null ? 'no work item for this partition by its deadline' : 'not COMPLETE by its deadline';
            event.run(
              d.domain,
              d.pipeline,
              d.partitionKey,
              d.itemId,
              `${why} ${d.dueAt.toISOString()}`,
              d.dueAt.getTime(),
              `deadline_missed:${d.domain}.${d.pipeline}:${d.partitionKey}`,
            );
          }
        }
        return { moved, missed };
      })
      .immediate();
  }

  async itemsOfDay(domain: string, pipeline: string, dayKey: string, day: string): Promise<DayItem[]> {
    const rows = this.db
      .prepare(
        `SELECT w.id, w.partition_key, w.state,
                (SELECT min(e.at) FROM work_events e WHERE e.item_id = w.id AND e.to_state = 'COMPLETE') AS first_done
           FROM work_items w WHERE w.domain = ? AND w.pipeline = ? AND json_extract(w.partition, '$.' || ?) = ? ORDER BY w.partition_key`,
      )
      .all(domain, pipeline, dayKey, day) as { id: number; partition_key: string; state: WorkState; first_done: number | null }[];
    return rows.map((r) => ({
      id: r.id,
      partitionKey: r.partition_key,
      state: r.state,
      firstCompletedAt: r.first_done === null ? null : new Date(r.first_done),
    }));
  }

  async deadlinesFor(domain: string, pipeline: string, partitionKeys: readonly string[]): Promise<DeadlineRecord[]> {
    if (partitionKeys.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT * FROM partition_deadlines WHERE domain = ? AND pipeline = ? AND partition_key IN (SELECT value FROM json_each(?))`)
      .all(domain, pipeline, JSON.stringify(partitionKeys)) as {
      domain: string;
      pipeline: string;
      partition_key: string;
      item_id: number | null;
      due_at: number;
      state: 'met' | 'missed';
      met_at: number | null;
      decided_at: number;
    }[];
    return rows.map((r) => ({
      domain: r.domain,
      pipeline: r.pipeline,
      partitionKey: r.partition_key,
      itemId: r.item_id,
      dueAt: new Date(r.due_at),
      state: r.state,
      metAt: r.met_at === null ? null : new Date(r.met_at),
      decidedAt: new Date(r.decided_at),
    }));
  }

  async countDeadlines(): Promise<{ domain: string; pipeline: string; state: string; count: number }[]> {
    return this.db
      .prepare('SELECT domain, pipeline, state, count(*) AS count FROM partition_deadlines GROUP BY domain, pipeline, state ORDER BY domain, pipeline, state')
      .all() as {
      domain: string;
      pipeline: string;
      state: string;
      count: number;
    }[];
  }

  async deadlineItemIds(domain: string, pipeline: string, state: 'met' | 'missed', limit: number): Promise<number[]> {
    return this.db
      .prepare('SELECT item_id FROM partition_deadlines WHERE domain = ? AND pipeline = ? AND state = ? AND item_id IS NOT NULL ORDER BY partition_key LIMIT ?')
      .pluck()
      .all(domain, pipeline, state, limit) as number[];
  }
}
