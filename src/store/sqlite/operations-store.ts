import type { Database as DB } from 'better-sqlite3';
import type { WorkState } from '../../core/states.js';
import type { BackfillCounts, BackfillRecord, OperationsStore, ScheduleControl, ScheduleEvent } from '../operations-store.js';

interface BackfillRow {
  id: number;
  pipeline: string;
  request: string;
  priority: number;
  reprocess: BackfillRecord['reprocess'];
  downstream: number;
  status: BackfillRecord['status'];
  partitions: number;
  error: string | null;
  created_at: number;
  enqueued_at: number | null;
  cancelled_at: number | null;
}

const toRecord = (r: BackfillRow): BackfillRecord => ({
  id: r.id,
  pipeline: r.pipeline,
  request: JSON.parse(r.request) as Record<string, unknown>,
  priority: r.priority,
  reprocess: r.reprocess,
  downstream: r.downstream === 1,
  status: r.status,
  partitions: r.partitions,
  error: r.error,
  createdAt: new Date(r.created_at),
  enqueuedAt: r.enqueued_at === null ? null : new Date(r.enqueued_at),
  cancelledAt: r.cancelled_at === null ? null : new Date(r.cancelled_at),
});

/** Backfills and schedule controls on the SQLite store's own connection (migration 5). */
export class SqliteOperationsStore implements OperationsStore {
  constructor(private readonly db: DB) {}

  private row(id: number): BackfillRecord | null {
    const r = this.db.prepare('SELECT * FROM backfills WHERE id = ?').get(id) as BackfillRow | undefined;
    return r ? toRecord(r) : null;
  }

  async createBackfill(b: Parameters<OperationsStore['createBackfill']>[0]): Promise<BackfillRecord> {
    const info = this.db
      .prepare(`INSERT INTO backfills (pipeline, request, priority, reprocess, downstream, status, created_at) VALUES (?, ?, ?, ?, ?, 'enqueuing', ?)`)
      .run(b.pipeline, JSON.stringify(b.request), b.priority, b.reprocess, b.downstream ? 1 : 0, Date.now());
    return this.row(Number(info.lastInsertRowid))!;
  }

  async linkBackfillItems(id: number, links: readonly { itemId: number; downstream: boolean }[], partitions: number): Promise<void> {
    const insert = this.db.prepare('INSERT OR IGNORE INTO backfill_items (backfill_id, item_id, downstream) VALUES (?, ?, ?)');
    const count = this.db.prepare('UPDATE backfills SET partitions = partitions + ? WHERE id = ?');
    this.db.transaction(() => {
      for (const l of links) insert.run(id, l.itemId, l.downstream ? 1 : 0);
      count.run(partitions, id);
    })();
  }

  async finishBackfillEnqueue(id: number, outcome: { status: 'enqueued' | 'failed'; error?: string | null }): Promise<BackfillRecord> {
    this.db
      .prepare(`UPDATE backfills SET status = ?, error = ?, enqueued_at = ? WHERE id = ? AND status = 'enqueuing'`)
      .run(outcome.status, outcome.error ?? null, Date.now(), id);
    return this.row(id)!;
  }

  async getBackfill(id: number): Promise<BackfillRecord | null> {
    return this.row(id);
  }

  async listBackfills(limit: number, offset: number): Promise<{ rows: BackfillRecord[]; total: number }> {
    const rows = this.db.prepare('SELECT * FROM backfills ORDER BY id DESC LIMIT ? OFFSET ?').all(limit, offset) as BackfillRow[];
    const total = this.db.prepare('SELECT count(*) FROM backfills').pluck().get() as number;
    return { rows: rows.map(toRecord), total };
  }

  async backfillCounts(id: number): Promise<BackfillCounts> {
    const rows = this.db
      .prepare(
        `SELECT w.state AS state, b.downstream AS downstream, count(*) AS n, min(w.finished_at) AS first, max(w.finished_at) AS last
           FROM backfill_items b JOIN work_items w ON w.id = b.item_id
          WHERE b.backfill_id = ? GROUP BY w.state, b.downstream`,
      )
      .all(id) as { state: WorkState; downstream: number; n: number; first: number | null; last: number | null }[];
    const out: BackfillCounts = { requested: {}, downstream: {}, firstFinishedAt: null, lastFinishedAt: null };
    let first: number | null = null;
    let last: number | null = null;
    for (const r of rows) {
      (r.downstream ? out.downstream : out.requested)[r.state] = r.n;
      if (r.first !== null && (first === null || r.first < first)) first = r.first;
      if (r.last !== null && (last === null || r.last > last)) last = r.last;
    }
    out.firstFinishedAt = first === null ? null : new Date(first);
    out.lastFinishedAt = last === null ? null : new Date(last);
    return out;
  }

  async outstandingBackfillItems(id: number): Promise<number[]> {
    return this.db
      .prepare(
        `SELECT w.id FROM backfill_items b JOIN work_items w ON w.id = b.item_id WHERE b.backfill_id = ? AND w.state IN ('WAITING', 'PENDING', 'RETRY_WAIT', 'RUNNING') ORDER BY w.id`,
      )
      .pluck()
      .all(id) as number[];
  }

  async markBackfillCancelled(id: number): Promise<BackfillRecord> {
    this.db.prepare(`UPDATE backfills SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, ?) WHERE id = ?`).run(Date.now(), id);
    return this.row(id)!;
  }

  async countAttempts(filter: { domain?: string; pipeline?: string; status?: string }): Promise<number> {
    if (!filter.domain && !filter.pipeline && !filter.status) return this.db.prepare('SELECT count(*) FROM attempts').pluck().get() as number;
    return this.db
      .prepare(
        `SELECT count(*) FROM attempts a JOIN work_items w ON w.id = a.item_id
          WHERE (@domain IS NULL OR w.domain = @domain) AND (@pipeline IS NULL OR w.pipeline = @pipeline) AND (@status IS NULL OR a.status = @status)`,
      )
      .pluck()
      .get({ domain: filter.domain ?? null, pipeline: filter.pipeline ?? null, status: filter.status ?? null }) as number;
  }

  async setSchedulePaused(schedule: string, paused: boolean, actor: string | null, detail: string | null = null): Promise<ScheduleControl> {
    const now = Date.now();
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO schedule_controls (schedule, paused, updated_at, actor) VALUES (?, ?, ?, ?) ON CONFLICT (schedule) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at, actor = excluded.actor',
        )
        .run(schedule, paused ? 1 : 0, now, actor);
      this.db
        .prepare('INSERT INTO schedule_events (schedule, at, event, actor, detail) VALUES (?, ?, ?, ?, ?)')
        .run(schedule, now, paused ? 'paused' : 'resumed', actor, detail);
    })();
    return { schedule, paused, updatedAt: new Date(now), actor };
  }

  async scheduleControls(): Promise<ScheduleControl[]> {
    const rows = this.db.prepare('SELECT * FROM schedule_controls ORDER BY schedule').all() as {
      schedule: string;
      paused: number;
      updated_at: number;
      actor: string | null;
    }[];
    return rows.map((r) => ({ schedule: r.schedule, paused: r.paused === 1, updatedAt: new Date(r.updated_at), actor: r.actor }));
  }

  async recordScheduleEvent(schedule: string, event: string, actor: string | null, detail: string | null): Promise<void> {
    this.db.prepare('INSERT INTO schedule_events (schedule, at, event, actor, detail) VALUES (?, ?, ?, ?, ?)').run(schedule, Date.now(), event, actor, detail);
  }

  async listScheduleEvents(schedule: string, limit: number): Promise<ScheduleEvent[]> {
    const rows = this.db.prepare('SELECT * FROM schedule_events WHERE schedule = ? ORDER BY id DESC LIMIT ?').all(schedule, limit) as {
      id: number;
      schedule: string;
      at: number;
      event: string;
      actor: string | null;
      detail: string | null;
    }[];
    return rows.map((r) => ({ ...r, at: new Date(r.at) }));
  }
}
