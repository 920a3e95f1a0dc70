import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 2,
  name: 'schedule ticks and leases',
  sql: `
    CREATE TABLE schedule_ticks (
      schedule     TEXT    NOT NULL,
      kind         TEXT    NOT NULL,
      scheduled_at INTEGER NOT NULL,
      outcome      TEXT    NOT NULL,
      fired_at     INTEGER,
      detail       TEXT,
      item_ids     TEXT    NOT NULL DEFAULT '[]',
      scheduler_id TEXT    NOT NULL,
      PRIMARY KEY (schedule, kind, scheduled_at)
    );
    CREATE TABLE leases (
      name       TEXT PRIMARY KEY,
      holder     TEXT    NOT NULL,
      expires_at INTEGER NOT NULL
    );
  `,
};
