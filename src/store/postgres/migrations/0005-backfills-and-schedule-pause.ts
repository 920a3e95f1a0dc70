import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 5,
  name: 'backfills and schedule pause',
  // See sqlite/schema.ts version 6.
  sql: `
    CREATE TABLE backfills (
      id              bigserial   PRIMARY KEY,
      pipeline        text        NOT NULL,
      request         jsonb       NOT NULL,
      priority        integer     NOT NULL,
      reprocess       text        NOT NULL CHECK (reprocess IN ('missing', 'failed', 'all')),
      downstream      boolean     NOT NULL,
      status          text        NOT NULL CHECK (status IN ('enqueuing', 'enqueued', 'cancelled', 'failed')),
      partitions      bigint      NOT NULL DEFAULT 0,
      error           text,
      created_at      timestamptz NOT NULL,
      enqueued_at     timestamptz,
      cancelled_at    timestamptz
    );
    CREATE TABLE backfill_items (
      backfill_id     bigint      NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
      item_id         bigint      NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
      downstream      boolean     NOT NULL,
      PRIMARY KEY (backfill_id, item_id)
    );
    CREATE TABLE schedule_controls (
      schedule        text        PRIMARY KEY,
      paused          boolean     NOT NULL,
      updated_at      timestamptz NOT NULL,
      actor           text
    );
    CREATE TABLE schedule_events (
      id              bigserial   PRIMARY KEY,
      schedule        text        NOT NULL,
      at              timestamptz NOT NULL,
      event           text        NOT NULL,
      actor           text,
      detail          text
    );
    CREATE INDEX schedule_events_schedule ON schedule_events (schedule, id);
  `,
};
