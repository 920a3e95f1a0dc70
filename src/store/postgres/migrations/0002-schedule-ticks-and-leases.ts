import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 2,
  name: 'schedule ticks and leases',
  sql: `
    CREATE TABLE schedule_ticks (
      schedule     text        NOT NULL,
      kind         text        NOT NULL,
      scheduled_at timestamptz NOT NULL,
      outcome      text        NOT NULL,
      fired_at     timestamptz,
      detail       text,
      item_ids     jsonb       NOT NULL DEFAULT '[]',
      scheduler_id text        NOT NULL,
      PRIMARY KEY (schedule, kind, scheduled_at)
    );
    CREATE TABLE leases (
      name       text        PRIMARY KEY,
      holder     text        NOT NULL,
      expires_at timestamptz NOT NULL
    );
  `,
};
