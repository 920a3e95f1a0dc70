import type pg from 'pg';
import type { WorkState } from '../../core/states.js';
import type { BackfillCounts, BackfillRecord, OperationsStore, ScheduleControl, ScheduleEvent } from '../operations-store.js';
import { quoteIdent } from './quote-ident.js';
import { withTransaction } from './transaction.js';

interface BackfillRow {
  id: string;
  pipeline: string;
  request: Record<string, unknown>;
  priority: number;
  reprocess: BackfillRecord['reprocess'];
  downstream: boolean;
  status: BackfillRecord['status'];
  partitions: string;
  error: string | null;
  created_at: Date;
  enqueued_at: Date | null;
  cancelled_at: Date | null;
}

const toRecord = (r: BackfillRow): BackfillRecord => ({
  id: Number(r.id),
  pipeline: r.pipeline,
  request: r.request,
  priority: r.priority,
  reprocess: r.reprocess,
  downstream: r.downstream,
  status: r.status,
  partitions: Number(r.partitions),
  error: r.error,
  createdAt: r.created_at,
  enqueuedAt: r.enqueued_at,
  cancelledAt: r.cancelled_at,
});

/** Backfills and schedule controls on the PostgreSQL store's pool and schema (migration 5).
 * Table names are the validated, quoted schema plus constants; values are bind parameters. */
export class PgOperationsStore implements OperationsStore {
  private readonly t: (name: string) => string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    const q = quoteIdent(schema, 'schema name');
    this.t = (name) => `${q}.${name}`;
  }

  private async one(text: string, values: unknown[]): Promise<BackfillRecord | null> {
    const { rows } = await this.pool.query<BackfillRow>(text, values);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async createBackfill(b: Parameters<OperationsStore['createBackfill']>[0]): Promise<BackfillRecord> {
    return (await this.one(
      `INSERT INTO ${this.t('backfills')} (pipeline, request, priority, reprocess, downstream, status, created_at) VALUES ($1, $2, $3, $4, $5, 'enqueuing', now()) RETURNING *`,
      [b.pipeline, JSON.stringify(b.request), b.priority, b.reprocess, b.downstream],
    ))!;
  }

  async linkBackfillItems(id: number, links: readonly { itemId: number; downstream: boolean }[], partitions: number): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      if (links.length) {
        await client.query(
          `INSERT INTO ${this.t('backfill_items')} (backfill_id, item_id, downstream) SELECT $1, i, d FROM unnest($2::bigint[], $3::boolean[]) AS u(i, d) ON CONFLICT DO NOTHING`,
          [id, links.map((l) => l.itemId), links.map((l) => l.downstream)],
        );
      }
      await client.query(`UPDATE ${this.t('backfills')} SET partitions = partitions + $1 WHERE id = $2`, [partitions, id]);
    });
  }

  async finishBackfillEnqueue(id: number, outcome: { status: 'enqueued' | 'failed'; error?: string | null }): Promise<BackfillRecord> {
    await this.pool.query(`UPDATE ${this.t('backfills')} SET status = $1, error = $2, enqueued_at = now() WHERE id = $3 AND status = 'enqueuing'`, [
      outcome.status,
      outcome.error ?? null,
      id,
    ]);
    return (await this.getBackfill(id))!;
  }

  async getBackfill(id: number): Promise<BackfillRecord | null> {
    return this.one(`SELECT * FROM ${this.t('backfills')} WHERE id = $1`, [id]);
  }

  async listBackfills(limit: number, offset: number): Promise<{ rows: BackfillRecord[]; total: number }> {
    const [{ rows }, count] = await Promise.all([
      this.pool.query<BackfillRow>(`SELECT * FROM ${this.t('backfills')} ORDER BY id DESC LIMIT $1 OFFSET $2`, [limit, offset]),
      this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.t('backfills')}`),
    ]);
    return { rows: rows.map(toRecord), total: Number(count.rows[0]!.n) };
  }

  async backfillCounts(id: number): Promise<BackfillCounts> {
    const { rows } = await this.pool.query<{ state: WorkState; downstream: boolean; n: string; first: Date | null; last: Date | null }>(
      `SELECT w.state, b.downstream, count(*) AS n, min(w.finished_at) AS first, max(w.finished_at) AS last
         FROM ${this.t('backfill_items')} b JOIN ${this.t('work_items')} w ON w.id = b.item_id
        WHERE b.backfill_id = $1 GROUP BY w.state, b.downstream`,
      [id],
    );
    const out: BackfillCounts = { requested: {}, downstream: {}, firstFinishedAt: null, lastFinishedAt: null };
    for (const r of rows) {
      (r.downstream ? out.downstream : out.requested)[r.state] = Number(r.n);
      if (r.first && (!out.firstFinishedAt || r.first < out.firstFinishedAt)) out.firstFinishedAt = r.first;
      if (r.last && (!out.lastFinishedAt || r.last > out.lastFinishedAt)) out.lastFinishedAt = r.last;
    }
    return out;
  }

  async outstandingBackfillItems(id: number): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT w.id FROM ${this.t('backfill_items')} b JOIN ${this.t('work_items')} w ON w.id = b.item_id
        WHERE b.backfill_id = $1 AND w.state IN ('WAITING', 'PENDING', 'RETRY_WAIT', 'RUNNING') ORDER BY w.id`,
      [id],
    );
    return rows.map((r) => Number(r.id));
  }

  async markBackfillCancelled(id: number): Promise<BackfillRecord> {
    await this.pool.query(`UPDATE ${this.t('backfills')} SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, now()) WHERE id = $1`, [id]);
    return (await this.getBackfill(id))!;
  }

  async countAttempts(filter: { domain?: string; pipeline?: string; status?: string }): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.t('attempts')} a JOIN ${this.t('work_items')} w ON w.id = a.item_id
        WHERE ($1::text IS NULL OR w.domain = $1) AND ($2::text IS NULL OR w.pipeline = $2) AND ($3::text IS NULL OR a.status = $3)`,
      [filter.domain ?? null, filter.pipeline ?? null, filter.status ?? null],
    );
    return Number(rows[0]!.n);
  }

  async setSchedulePaused(schedule: string, paused: boolean, actor: string | null, detail: string | null = null): Promise<ScheduleControl> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ updated_at: Date }>(
        `INSERT INTO ${this.t('schedule_controls')} (schedule, paused, updated_at, actor) VALUES ($1, $2, now(), $3)
         ON CONFLICT (schedule) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at, actor = excluded.actor RETURNING updated_at`,
        [schedule, paused, actor],
      );
      await client.query(`INSERT INTO ${this.t('schedule_events')} (schedule, at, event, actor, detail) VALUES ($1, now(), $2, $3, $4)`, [
        schedule,
        paused ? 'paused' : 'resumed',
        actor,
        detail,
      ]);
      return { schedule, paused, updatedAt: rows[0]!.updated_at, actor };
    });
  }

  async scheduleControls(): Promise<ScheduleControl[]> {
    const { rows } = await this.pool.query<{ schedule: string; paused: boolean; updated_at: Date; actor: string | null }>(
      `SELECT * FROM ${this.t('schedule_controls')} ORDER BY schedule`,
    );
    return rows.map((r) => ({ schedule: r.schedule, paused: r.paused, updatedAt: r.updated_at, actor: r.actor }));
  }

  async recordScheduleEvent(schedule: string, event: string, actor: string | null, detail: string | null): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t('schedule_events')} (schedule, at, event, actor, detail) VALUES ($1, now(), $2, $3, $4)`, [
      schedule,
      event,
      actor,
      detail,
    ]);
  }

  async listScheduleEvents(schedule: string, limit: number): Promise<ScheduleEvent[]> {
    const { rows } = await this.pool.query<{ id: string; schedule: string; at: Date; event: string; actor: string | null; detail: string | null }>(
      `SELECT * FROM ${this.t('schedule_events')} WHERE schedule = $1 ORDER BY id DESC LIMIT $2`,
      [schedule, limit],
    );
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }
}
