import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 1,
  name: 'work queue',
  sql: `
    CREATE TABLE work_items (
      id                 INTEGER PRIMARY KEY,
      domain             TEXT    NOT NULL,
      pipeline           TEXT    NOT NULL,
      partition_key      TEXT    NOT NULL,
      partition          TEXT    NOT NULL,
      params             TEXT    NOT NULL DEFAULT '{}',
      state              TEXT    NOT NULL,
      priority           INTEGER NOT NULL DEFAULT 0,
      desired_at         INTEGER NOT NULL,
      attempts           INTEGER NOT NULL DEFAULT 0,
      total_attempts     INTEGER NOT NULL DEFAULT 0,
      max_attempts       INTEGER NOT NULL,
      backoff            TEXT    NOT NULL,
      locked_by          TEXT,
      lease_expires_at   INTEGER,
      current_attempt_id INTEGER,
      last_error         TEXT,
      created_at         INTEGER NOT NULL,
      updated_at         INTEGER NOT NULL,
      finished_at        INTEGER,
      UNIQUE (domain, pipeline, partition_key)
    );
    CREATE INDEX work_items_ready ON work_items (priority DESC, desired_at, id)
      WHERE state IN ('PENDING', 'RETRY_WAIT');
    CREATE INDEX work_items_lease ON work_items (lease_expires_at) WHERE state = 'RUNNING';
    CREATE INDEX work_items_state ON work_items (state, domain, pipeline);
    CREATE INDEX work_items_finished ON work_items (finished_at) WHERE finished_at IS NOT NULL;

    CREATE TABLE attempts (
      id          INTEGER PRIMARY KEY,
      item_id     INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
      attempt_no  INTEGER NOT NULL,
      worker_id   TEXT    NOT NULL,
      status      TEXT    NOT NULL,
      started_at  INTEGER NOT NULL,
      finished_at INTEGER,
      error       TEXT,
      output_tail TEXT,
      result      TEXT
    );
    CREATE INDEX attempts_item ON attempts (item_id, attempt_no);

    CREATE TABLE work_events (
      id         INTEGER PRIMARY KEY,
      item_id    INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
      at         INTEGER NOT NULL,
      event      TEXT    NOT NULL,
      from_state TEXT,
      to_state   TEXT    NOT NULL,
      actor      TEXT,
      detail     TEXT
    );
    CREATE INDEX work_events_item ON work_events (item_id, id);
  `,
};
