import type { PoolClient } from 'pg';

/** Advisory lock classes (first key of the two-int form), so Sluice's locks never collide
 * with each other's key spaces or with single-bigint locks other code may take. */
export const LOCK_CLASS = {
  migrate: 0x51_00,
  /** Per-pipeline concurrency caps, held by a claim transaction while it counts RUNNING rows. */
  pipelineCap: 0x51_01,
  /** Per upstream partition: orders "enqueue an item that waits on it" against "complete it". */
  upstream: 0x51_02,
} as const;

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

/**
 * PostgreSQL schema, as ordered migrations. The SQL is unqualified: the runner sets
 * `search_path` to the store's schema for the migration transaction, so one database can
 * hold several isolated Sluice schemas (tests use one per test).
 *
 * Mirrors `sqlite/schema.ts` with native types: bigserial ids, timestamptz instants,
 * jsonb documents, and CHECK constraints on states and attempt statuses.
 *
 * `work_items_ready` holds only ready rows (PENDING, RETRY_WAIT) in claim order
 * (priority DESC, desired_at, id), so neither claims nor "when is the next item due?" slow
 * down with the number of finished items. Far-future items do not slow them either: both
 * walk the index one priority level at a time, where `desired_at` is the leading key, so
 * `desired_at <= now` bounds each range scan (see `pg-store.ts`).
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'work queue',
    sql: `
      CREATE TABLE work_items (
        id                 bigserial   PRIMARY KEY,
        domain             text        NOT NULL,
        pipeline           text        NOT NULL,
        partition_key      text        NOT NULL,
        partition          jsonb       NOT NULL,
        params             jsonb       NOT NULL DEFAULT '{}',
        state              text        NOT NULL
          CHECK (state IN ('WAITING', 'PENDING', 'RUNNING', 'RETRY_WAIT', 'COMPLETE', 'FAILED', 'CANCELLED')),
        priority           integer     NOT NULL DEFAULT 0,
        desired_at         timestamptz NOT NULL,
        attempts           integer     NOT NULL DEFAULT 0,
        total_attempts     integer     NOT NULL DEFAULT 0,
        max_attempts       integer     NOT NULL,
        backoff            jsonb       NOT NULL,
        locked_by          text,
        lease_expires_at   timestamptz,
        current_attempt_id bigint,
        last_error         text,
        created_at         timestamptz NOT NULL,
        updated_at         timestamptz NOT NULL,
        finished_at        timestamptz,
        CONSTRAINT work_items_triple UNIQUE (domain, pipeline, partition_key)
      );
      CREATE INDEX work_items_ready ON work_items (priority DESC, desired_at, id)
        WHERE state IN ('PENDING', 'RETRY_WAIT');
      CREATE INDEX work_items_lease ON work_items (lease_expires_at) WHERE state = 'RUNNING';
      CREATE INDEX work_items_state ON work_items (state, domain, pipeline);
      CREATE INDEX work_items_finished ON work_items (finished_at) WHERE finished_at IS NOT NULL;

      CREATE TABLE attempts (
        id          bigserial   PRIMARY KEY,
        item_id     bigint      NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
        attempt_no  integer     NOT NULL,
        worker_id   text        NOT NULL,
        status      text        NOT NULL
          CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'interrupted')),
        started_at  timestamptz NOT NULL,
        finished_at timestamptz,
        error       text,
        output_tail text,
        result      jsonb
      );
      CREATE INDEX attempts_item ON attempts (item_id, attempt_no);

      CREATE TABLE work_events (
        id         bigserial   PRIMARY KEY,
        -- No foreign key: one row is written per transition and a key check per row is the
        -- largest single cost of a batch enqueue. pruneFinished deletes events explicitly.
        item_id    bigint      NOT NULL,
        at         timestamptz NOT NULL,
        event      text        NOT NULL,
        from_state text,
        to_state   text        NOT NULL,
        actor      text,
        detail     text
      );
      CREATE INDEX work_events_item ON work_events (item_id, id);
    `,
  },
  {
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
  },
  {
    version: 3,
    name: 'dependencies between partitions',
    sql: `
      CREATE TABLE work_dependencies (
        item_id     bigint NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
        up_domain   text   NOT NULL,
        up_pipeline text   NOT NULL,
        up_key      text   NOT NULL,
        PRIMARY KEY (item_id, up_domain, up_pipeline, up_key)
      );
      -- "Who waits on this upstream?" is asked on every completion.
      CREATE INDEX work_dependencies_upstream ON work_dependencies (up_domain, up_pipeline, up_key);
    `,
  },
  {
    version: 4,
    name: 'attempts by start time',
    // "Recent runs" across items, newest first (ORDER BY started_at DESC, id DESC): id is in
    // the index so the order needs no sort, as on SQLite where the rowid is implicit.
    sql: `CREATE INDEX attempts_started ON attempts (started_at, id);`,
  },
  {
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
  },
  {
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
  },
];

/** Validated, quoted SQL identifier. Only lower-case names, so quoting never changes meaning. */
export function quoteIdent(name: string, what = 'identifier'): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name.length > 63) {
    throw new Error(`invalid PostgreSQL ${what} ${JSON.stringify(name)}: use lower-case letters, digits and _ (at most 63, not starting with a digit)`);
  }
  return `"${name}"`;
}

/**
 * Applies pending migrations to `schema` in one transaction under a transaction-level
 * advisory lock, so several processes starting at once queue up instead of racing on
 * CREATE SCHEMA / CREATE TABLE; the ones that get the lock later find nothing to do.
 */
export async function migrate(client: PoolClient, schema: string): Promise<number> {
  const q = quoteIdent(schema, 'schema name');
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS.migrate}, hashtext($1::text))`, [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`SET LOCAL search_path TO ${q}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS sluice_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM sluice_migrations')).rows.map((r) => r.version));
    let applied = 0;
    for (const m of PG_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO sluice_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied++;
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
