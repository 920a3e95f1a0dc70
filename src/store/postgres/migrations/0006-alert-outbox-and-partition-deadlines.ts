import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 6,
  name: 'alert outbox and partition deadlines',
  // See sqlite/schema.ts version 6. The trigger functions pin search_path to this schema
  // (SET search_path FROM CURRENT: the runner's SET LOCAL), because the store's own queries
  // use qualified names and its sessions keep the default search_path. The work_events
  // trigger is per statement over the transition table, so a batch of completions costs
  // one call, not one per row.
  sql: `
    CREATE TABLE alert_events (
      id            bigserial   PRIMARY KEY,
      event         text        NOT NULL CHECK (event IN ('failed', 'deadline_missed', 'schedule_missed', 'recovered', 'test')),
      domain        text,
      pipeline      text,
      partition_key text,
      item_id       bigint,
      schedule      text,
      error         text,
      at            timestamptz NOT NULL,
      dedupe_key    text        NOT NULL UNIQUE,
      fanned_out    boolean     NOT NULL DEFAULT false
    );
    CREATE INDEX alert_events_unfanned ON alert_events (id) WHERE NOT fanned_out;
    CREATE TABLE alert_deliveries (
      id            bigserial   PRIMARY KEY,
      event_id      bigint      NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
      alert         text        NOT NULL,
      state         text        NOT NULL CHECK (state IN ('pending', 'delivered', 'rejected')),
      attempts      integer     NOT NULL DEFAULT 0,
      next_at       timestamptz NOT NULL,
      claimed_until timestamptz,
      last_error    text,
      delivered_at  timestamptz,
      UNIQUE (event_id, alert)
    );
    CREATE INDEX alert_deliveries_pending ON alert_deliveries (alert, id) WHERE state = 'pending';
    CREATE TABLE partition_deadlines (
      domain        text        NOT NULL,
      pipeline      text        NOT NULL,
      partition_key text        NOT NULL,
      item_id       bigint,
      due_at        timestamptz NOT NULL,
      state         text        NOT NULL CHECK (state IN ('met', 'missed')),
      met_at        timestamptz,
      decided_at    timestamptz NOT NULL,
      PRIMARY KEY (domain, pipeline, partition_key)
    );
    CREATE TABLE deadline_cursors (
      pipeline      text        PRIMARY KEY,
      swept_through timestamptz NOT NULL
    );
    CREATE FUNCTION alert_events_from_work_events() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      INSERT INTO alert_events (event, domain, pipeline, partition_key, item_id, error, at, dedupe_key)
      SELECT 'failed', w.domain, w.pipeline, w.partition_key, n.item_id, n.detail, n.at, 'failed:' || n.id
        FROM new_events n JOIN work_items w ON w.id = n.item_id WHERE n.to_state = 'FAILED'
      UNION ALL
      SELECT 'recovered', w.domain, w.pipeline, w.partition_key, n.item_id, NULL, n.at, 'recovered:' || n.id
        FROM new_events n JOIN work_items w ON w.id = n.item_id
       WHERE n.to_state = 'COMPLETE'
         AND (SELECT e.to_state FROM work_events e WHERE e.item_id = n.item_id AND e.id < n.id AND e.to_state IN ('FAILED', 'COMPLETE') ORDER BY e.id DESC LIMIT 1) = 'FAILED'
      ON CONFLICT (dedupe_key) DO NOTHING;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER alert_on_work_events AFTER INSERT ON work_events
      REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION alert_events_from_work_events();
    CREATE FUNCTION alert_event_from_missed_tick() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      IF coalesce((SELECT t.outcome FROM schedule_ticks t WHERE t.schedule = NEW.schedule AND t.kind = NEW.kind AND t.scheduled_at < NEW.scheduled_at ORDER BY t.scheduled_at DESC LIMIT 1), '') <> 'missed' THEN
        INSERT INTO alert_events (event, schedule, error, at, dedupe_key)
        VALUES ('schedule_missed', NEW.schedule, NEW.detail, NEW.scheduled_at, 'schedule_missed:' || NEW.schedule || ':' || (extract(epoch FROM NEW.scheduled_at) * 1000)::bigint)
        ON CONFLICT (dedupe_key) DO NOTHING;
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER alert_on_schedule_missed AFTER INSERT ON schedule_ticks
      FOR EACH ROW WHEN (NEW.outcome = 'missed') EXECUTE FUNCTION alert_event_from_missed_tick();
  `,
};
