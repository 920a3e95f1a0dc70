import type { Migration } from '../../migration.js';

export const migration: Migration = {
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
};
