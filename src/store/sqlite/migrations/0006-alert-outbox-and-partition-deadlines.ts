import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 6,
  name: 'alert outbox and partition deadlines',
  // The outbox: alert_events is written by triggers in the SAME transaction as the state
  // change it reports (a work_events row into FAILED, a COMPLETE after a FAILED, a missed
  // schedule tick) or by the deadline sweeper with its deadline row, so no state change can
  // commit without its event, whatever code path (worker, lease reclaim, API) made it.
  // dedupe_key makes every writer idempotent. alert_deliveries holds one row per event and
  // configured alert (fanned out by the dispatcher), delivered in id order per alert.
  sql: `
    CREATE TABLE alert_events (
      id            INTEGER PRIMARY KEY AUTOINCREMENT,
      event         TEXT    NOT NULL,
      domain        TEXT,
      pipeline      TEXT,
      partition_key TEXT,
      item_id       INTEGER,
      schedule      TEXT,
      error         TEXT,
      at            INTEGER NOT NULL,
      dedupe_key    TEXT    NOT NULL UNIQUE,
      fanned_out    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX alert_events_unfanned ON alert_events (id) WHERE fanned_out = 0;
    CREATE TABLE alert_deliveries (
      id            INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id      INTEGER NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
      alert         TEXT    NOT NULL,
      state         TEXT    NOT NULL,
      attempts      INTEGER NOT NULL DEFAULT 0,
      next_at       INTEGER NOT NULL,
      claimed_until INTEGER,
      last_error    TEXT,
      delivered_at  INTEGER,
      UNIQUE (event_id, alert)
    );
    CREATE INDEX alert_deliveries_pending ON alert_deliveries (alert, id) WHERE state = 'pending';
    CREATE TABLE partition_deadlines (
      domain        TEXT    NOT NULL,
      pipeline      TEXT    NOT NULL,
      partition_key TEXT    NOT NULL,
      item_id       INTEGER,
      due_at        INTEGER NOT NULL,
      state         TEXT    NOT NULL,
      met_at        INTEGER,
      decided_at    INTEGER NOT NULL,
      PRIMARY KEY (domain, pipeline, partition_key)
    );
    CREATE TABLE deadline_cursors (
      pipeline      TEXT    PRIMARY KEY,
      swept_through INTEGER NOT NULL
    );
    CREATE TRIGGER alert_on_failed AFTER INSERT ON work_events WHEN NEW.to_state = 'FAILED'
    BEGIN
      INSERT OR IGNORE INTO alert_events (event, domain, pipeline, partition_key, item_id, error, at, dedupe_key)
        SELECT 'failed', domain, pipeline, partition_key, NEW.item_id, NEW.detail, NEW.at, 'failed:' || NEW.id FROM work_items WHERE id = NEW.item_id;
    END;
    -- recovered: this completion's item last ended FAILED (not COMPLETE) before it.
    CREATE TRIGGER alert_on_recovered AFTER INSERT ON work_events
      WHEN NEW.to_state = 'COMPLETE' AND (SELECT e.to_state FROM work_events e WHERE e.item_id = NEW.item_id AND e.id < NEW.id AND e.to_state IN ('FAILED', 'COMPLETE') ORDER BY e.id DESC LIMIT 1) = 'FAILED'
    BEGIN
      INSERT OR IGNORE INTO alert_events (event, domain, pipeline, partition_key, item_id, at, dedupe_key)
        SELECT 'recovered', domain, pipeline, partition_key, NEW.item_id, NEW.at, 'recovered:' || NEW.id FROM work_items WHERE id = NEW.item_id;
    END;
    -- schedule_missed: once per run of consecutive missed ticks (the first one).
    CREATE TRIGGER alert_on_schedule_missed AFTER INSERT ON schedule_ticks
      WHEN NEW.outcome = 'missed' AND coalesce((SELECT t.outcome FROM schedule_ticks t WHERE t.schedule = NEW.schedule AND t.kind = NEW.kind AND t.scheduled_at < NEW.scheduled_at ORDER BY t.scheduled_at DESC LIMIT 1), '') <> 'missed'
    BEGIN
      INSERT OR IGNORE INTO alert_events (event, schedule, error, at, dedupe_key)
        VALUES ('schedule_missed', NEW.schedule, NEW.detail, NEW.scheduled_at, 'schedule_missed:' || NEW.schedule || ':' || NEW.scheduled_at);
    END;
  `,
};
