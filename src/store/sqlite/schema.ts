/**
 * SQLite schema, as ordered migrations. Instants are INTEGER milliseconds since the epoch
 * (compact, index-friendly, no parsing); JSON columns are TEXT.
 *
 * The claim path reads `work_items_ready`, a partial index holding only PENDING and
 * RETRY_WAIT rows in claim order, so a claim costs the same with 10 or 10 million finished
 * or far-future items in the table.
 */
export const SQLITE_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
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
  },
  {
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
  },
  {
    version: 3,
    name: 'dependencies between partitions',
    sql: `
      CREATE TABLE work_dependencies (
        item_id       INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
        up_domain     TEXT    NOT NULL,
        up_pipeline   TEXT    NOT NULL,
        up_key        TEXT    NOT NULL,
        PRIMARY KEY (item_id, up_domain, up_pipeline, up_key)
      );
      -- "Who waits on this upstream?" is asked on every completion.
      CREATE INDEX work_dependencies_upstream ON work_dependencies (up_domain, up_pipeline, up_key);
    `,
  },
  {
    version: 4,
    name: 'attempts by start time',
    // "Recent runs" across items, newest first. SQLite appends the rowid (= attempts.id) to
    // every index entry, so this index is (started_at, id) and serves ORDER BY started_at
    // DESC, id DESC without a sort.
    sql: `CREATE INDEX attempts_started ON attempts (started_at);`,
  },
  {
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
  },
  {
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
  },
];
