import type pg from 'pg';
import type { WorkState } from '../../core/states.js';
import type { AlertDelivery, AlertEvent, AlertStore, DayItem, DeadlineRecord, DeadlineSweep } from '../alert-store.js';
import { quoteIdent } from './quote-ident.js';
import { withTransaction } from './transaction.js';

interface EventRow {
  id: string;
  event: AlertEvent['event'];
  domain: string | null;
  pipeline: string | null;
  partition_key: string | null;
  item_id: string | null;
  schedule: string | null;
  error: string | null;
  at: Date;
}

const toEvent = (r: EventRow): AlertEvent => ({
  id: Number(r.id),
  event: r.event,
  domain: r.domain,
  pipeline: r.pipeline,
  partitionKey: r.partition_key,
  itemId: r.item_id === null ? null : Number(r.item_id),
  schedule: r.schedule,
  error: r.error,
  at: r.at,
});

type DeliveryRow = EventRow & {
  d_id: string;
  alert: string;
  state: AlertDelivery['state'];
  attempts: number;
  next_at: Date;
  last_error: string | null;
  delivered_at: Date | null;
};

const toDelivery = (r: DeliveryRow): AlertDelivery => ({
  id: Number(r.d_id),
  alert: r.alert,
  state: r.state,
  attempts: r.attempts,
  nextAt: r.next_at,
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
  event: toEvent(r),
});

/** Outbox and deadlines on the PostgreSQL store's pool and schema (migration 6). Table names
 * are the validated, quoted schema plus constants; values are bind parameters. */
export class PgAlertStore implements AlertStore {
  private readonly t: (name: string) => string;
  private readonly deliverySelect: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    const q = quoteIdent(schema, 'schema name');
    this.t = (name) => `${q}.${name}`;
    this.deliverySelect = `SELECT d.id AS d_id, d.alert, d.state, d.attempts, d.next_at, d.last_error, d.delivered_at, e.* FROM ${this.t('alert_deliveries')} d JOIN ${this.t('alert_events')} e ON e.id = d.event_id`;
  }

  async unfannedEvents(limit: number): Promise<AlertEvent[]> {
    const { rows } = await this.pool.query<EventRow>(`SELECT * FROM ${this.t('alert_events')} WHERE NOT fanned_out ORDER BY id LIMIT $1`, [limit]);
    return rows.map(toEvent);
  }

  async fanOut(eventIds: readonly number[], deliveries: readonly { eventId: number; alert: string }[], now: Date): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      if (deliveries.length) {
        await client.query(
          `INSERT INTO ${this.t('alert_deliveries')} (event_id, alert, state, next_at) SELECT e, a, 'pending', $3 FROM unnest($1::bigint[], $2::text[]) AS u(e, a) ON CONFLICT DO NOTHING`,
          [deliveries.map((d) => d.eventId), deliveries.map((d) => d.alert), now],
        );
      }
      await client.query(`UPDATE ${this.t('alert_events')} SET fanned_out = true WHERE id = ANY($1::bigint[])`, [eventIds]);
    });
  }

  async claimDue(now: Date, leaseMs: number): Promise<AlertDelivery[]> {
    // The UPDATE re-checks claimed_until on each row it locks, so of two dispatchers racing
    // for one head only one gets it back.
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE ${this.t('alert_deliveries')} d SET claimed_until = $1::timestamptz + $2 * interval '1 millisecond'
        WHERE d.state = 'pending' AND d.id IN (SELECT min(id) FROM ${this.t('alert_deliveries')} WHERE state = 'pending' GROUP BY alert)
          AND d.next_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until < $1)
        RETURNING d.id`,
      [now, leaseMs],
    );
    if (rows.length === 0) return [];
    const got = await this.pool.query<DeliveryRow>(`${this.deliverySelect} WHERE d.id = ANY($1::bigint[]) ORDER BY d.id`, [rows.map((r) => r.id)]);
    return got.rows.map(toDelivery);
  }

  async markDelivered(id: number, at: Date): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t('alert_deliveries')} SET state = 'delivered', delivered_at = $2, attempts = attempts + 1, claimed_until = NULL, last_error = NULL WHERE id = $1`,
      [id, at],
    );
  }

  async markRetry(id: number, nextAt: Date, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t('alert_deliveries')} SET attempts = attempts + 1, next_at = $2, last_error = $3, claimed_until = NULL WHERE id = $1 AND state = 'pending'`,
      [id, nextAt, error],
    );
  }

  async markRejected(id: number, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t('alert_deliveries')} SET state = 'rejected', attempts = attempts + 1, last_error = $2, claimed_until = NULL WHERE id = $1`,
      [id, error],
    );
  }

  async listDeliveries(limit: number): Promise<AlertDelivery[]> {
    const { rows } = await this.pool.query<DeliveryRow>(`${this.deliverySelect} ORDER BY d.id DESC LIMIT $1`, [limit]);
    return rows.map(toDelivery);
  }

  async countDeliveries(): Promise<{ alert: string; state: string; count: number }[]> {
    const { rows } = await this.pool.query<{ alert: string; state: string; count: number }>(
      `SELECT alert, state, count(*)::int AS count FROM ${this.t('alert_deliveries')} GROUP BY alert, state ORDER BY alert, state`,
    );
    return rows;
  }

  async pruneAlerts(before: Date): Promise<number> {
    // Deliveries go with their event (ON DELETE CASCADE).
    const { rowCount } = await this.pool.query(
      `DELETE FROM ${this.t('alert_events')} e WHERE e.fanned_out AND e.at < $1 AND NOT EXISTS (SELECT 1 FROM ${this.t('alert_deliveries')} d WHERE d.event_id = e.id AND d.state = 'pending')`,
      [before],
    );
    return rowCount ?? 0;
  }

  async insertEvent(e: Omit<AlertEvent, 'id'> & { dedupeKey: string }): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${this.t('alert_events')} (event, domain, pipeline, partition_key, item_id, schedule, error, at, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING`,
      [e.event, e.domain, e.pipeline, e.partitionKey, e.itemId, e.schedule, e.error, e.at, e.dedupeKey],
    );
    return rowCount === 1;
  }

  async deadlineCursor(pipeline: string): Promise<Date | null> {
    const { rows } = await this.pool.query<{ swept_through: Date }>(`SELECT swept_through FROM ${this.t('deadline_cursors')} WHERE pipeline = $1`, [pipeline]);
    return rows[0]?.swept_through ?? null;
  }

  async recordDeadlines({ pipeline, from, to, decisions, now }: DeadlineSweep): Promise<{ moved: boolean; missed: number }> {
    return withTransaction(this.pool, async (client) => {
      const moved =
        from === null
          ? (await client.query(`INSERT INTO ${this.t('deadline_cursors')} (pipeline, swept_through) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [pipeline, to]))
              .rowCount === 1
          : (await client.query(`UPDATE ${this.t('deadline_cursors')} SET swept_through = $2 WHERE pipeline = $1 AND swept_through = $3`, [pipeline, to, from]))
              .rowCount === 1;
      if (!moved || decisions.length === 0) return { moved, missed: 0 };
      // New rows only (ON CONFLICT DO NOTHING ... RETURNING), and an event for each new miss.
      const { rows } = await client.query<{ n: number }>(
        `WITH d AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::timestamptz[]) AS u(domain, pipeline, partition_key, item_id, due_at, met_at)
         ), ins AS (
           INSERT INTO ${this.t('partition_deadlines')} (domain, pipeline, partition_key, item_id, due_at, state, met_at, decided_at)
           SELECT domain, pipeline, partition_key, item_id, due_at, CASE WHEN met_at IS NULL THEN 'missed' ELSE 'met' END, met_at, $7 FROM d
           ON CONFLICT DO NOTHING RETURNING *
         ), ev AS (
           INSERT INTO ${this.t('alert_events')} (event, domain, pipeline, partition_key, item_id, error, at, dedupe_key)
           SELECT 'deadline_missed', domain, pipeline, partition_key, item_id,
                  CASE WHEN item_id IS NULL THEN 'no work item for this partition by its deadline ' ELSE 'not COMPLETE by its deadline ' END
                    || to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  due_at, 'deadline_missed:' || domain || '.' || pipeline || ':' || partition_key
             FROM ins WHERE state = 'missed'
           ON CONFLICT (dedupe_key) DO NOTHING RETURNING 1
         )
         SELECT count(*)::int AS n FROM ev`,
        [
          decisions.map((d) => d.domain),
          decisions.map((d) => d.pipeline),
          decisions.map((d) => d.partitionKey),
          decisions.map((d) => d.itemId),
          decisions.map((d) => d.dueAt),
          decisions.map((d) => d.metAt),
          now,
        ],
      );
      return { moved, missed: rows[0]?.n ?? 0 };
    });
  }

  async itemsOfDay(domain: string, pipeline: string, dayKey: string, day: string): Promise<DayItem[]> {
    const { rows } = await this.pool.query<{ id: string; partition_key: string; state: WorkState; first_done: Date | null }>(
      `SELECT w.id, w.partition_key, w.state,
              (SELECT min(e.at) FROM ${this.t('work_events')} e WHERE e.item_id = w.id AND e.to_state = 'COMPLETE') AS first_done
         FROM ${this.t('work_items')} w WHERE w.domain = $1 AND w.pipeline = $2 AND w.partition ->> $3 = $4 ORDER BY w.partition_key`,
      [domain, pipeline, dayKey, day],
    );
    return rows.map((r) => ({ id: Number(r.id), partitionKey: r.partition_key, state: r.state, firstCompletedAt: r.first_done }));
  }

  async deadlinesFor(domain: string, pipeline: string, partitionKeys: readonly string[]): Promise<DeadlineRecord[]> {
    if (partitionKeys.length === 0) return [];
    const { rows } = await this.pool.query<{
      domain: string;
      pipeline: string;
      partition_key: string;
      item_id: string | null;
      due_at: Date;
      state: 'met' | 'missed';
      met_at: Date | null;
      decided_at: Date;
    }>(`SELECT * FROM ${this.t('partition_deadlines')} WHERE domain = $1 AND pipeline = $2 AND partition_key = ANY($3::text[])`, [
      domain,
      pipeline,
      partitionKeys,
    ]);
    return rows.map((r) => ({
      domain: r.domain,
      pipeline: r.pipeline,
      partitionKey: r.partition_key,
      itemId: r.item_id === null ? null : Number(r.item_id),
      dueAt: r.due_at,
      state: r.state,
      metAt: r.met_at,
      decidedAt: r.decided_at,
    }));
  }

  async countDeadlines(): Promise<{ domain: string; pipeline: string; state: string; count: number }[]> {
    const { rows } = await this.pool.query<{ domain: string; pipeline: string; state: string; count: number }>(
      `SELECT domain, pipeline, state, count(*)::int AS count FROM ${this.t('partition_deadlines')} GROUP BY domain, pipeline, state ORDER BY domain, pipeline, state`,
    );
    return rows;
  }

  async deadlineItemIds(domain: string, pipeline: string, state: 'met' | 'missed', limit: number): Promise<number[]> {
    const { rows } = await this.pool.query<{ item_id: string }>(
      `SELECT item_id FROM ${this.t('partition_deadlines')} WHERE domain = $1 AND pipeline = $2 AND state = $3 AND item_id IS NOT NULL ORDER BY partition_key LIMIT $4`,
      [domain, pipeline, state, limit],
    );
    return rows.map((r) => Number(r.item_id));
  }
}
