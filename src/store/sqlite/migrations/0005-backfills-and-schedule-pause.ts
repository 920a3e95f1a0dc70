import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 5,
  name: 'backfills and schedule pause',
  // A backfill is a tracked object: its request, and one link row per work item it brought
  // in (the named pipeline's partitions and, unless stopped, their auto downstream), so its
  // progress is a join with work_items. schedule_controls holds the operator's pause flag.
  sql: `
    CREATE TABLE backfills (
      id              INTEGER PRIMARY KEY AUTOINCREMENT,
      pipeline        TEXT    NOT NULL,
      request         TEXT    NOT NULL,
      priority        INTEGER NOT NULL,
      reprocess       TEXT    NOT NULL,
      downstream      INTEGER NOT NULL,
      status          TEXT    NOT NULL,
      partitions      INTEGER NOT NULL DEFAULT 0,
      error           TEXT,
      created_at      INTEGER NOT NULL,
      enqueued_at     INTEGER,
      cancelled_at    INTEGER
    );
    CREATE TABLE backfill_items (
      backfill_id     INTEGER NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
      item_id         INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
      downstream      INTEGER NOT NULL,
      PRIMARY KEY (backfill_id, item_id)
    );
    CREATE TABLE schedule_controls (
      schedule        TEXT    PRIMARY KEY,
      paused          INTEGER NOT NULL,
      updated_at      INTEGER NOT NULL,
      actor           TEXT
    );
    CREATE TABLE schedule_events (
      id              INTEGER PRIMARY KEY AUTOINCREMENT,
      schedule        TEXT    NOT NULL,
      at              INTEGER NOT NULL,
      event           TEXT    NOT NULL,
      actor           TEXT,
      detail          TEXT
    );
    CREATE INDEX schedule_events_schedule ON schedule_events (schedule, id);
  `,
};
