import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 8,
  name: 'queue write path: alert trigger by id, attempts without a foreign key',
  sql: `
    -- The alert trigger of 0006 joined the statement's new events to work_items in one plan
    -- made for a transition table of unknown size: in a drain right after a bulk enqueue
    -- (statistics not yet refreshed) that was a scan of work_items per claim or completion
    -- statement, 390 ms of a 420 ms claim of 256 items. Claims and enqueues insert no FAILED
    -- or COMPLETE event, so they now return before any join; the rest look items up by id
    -- (LATERAL on the primary key), and only for events that do raise an alert. Same alerts.
    CREATE OR REPLACE FUNCTION alert_events_from_work_events() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_events WHERE to_state IN ('FAILED', 'COMPLETE')) THEN
        RETURN NULL;
      END IF;
      INSERT INTO alert_events (event, domain, pipeline, partition_key, item_id, error, at, dedupe_key)
      SELECT a.event, w.domain, w.pipeline, w.partition_key, a.item_id, a.error, a.at, a.event || ':' || a.id
      FROM (
        SELECT 'failed' AS event, n.id, n.item_id, n.detail AS error, n.at FROM new_events n WHERE n.to_state = 'FAILED'
        UNION ALL
        SELECT 'recovered', n.id, n.item_id, NULL, n.at FROM new_events n
        WHERE n.to_state = 'COMPLETE'
          AND (SELECT e.to_state FROM work_events e WHERE e.item_id = n.item_id AND e.id < n.id AND e.to_state IN ('FAILED', 'COMPLETE') ORDER BY e.id DESC LIMIT 1) = 'FAILED'
      ) a
      CROSS JOIN LATERAL (SELECT i.domain, i.pipeline, i.partition_key FROM work_items i WHERE i.id = a.item_id) w
      ON CONFLICT (dedupe_key) DO NOTHING;
      RETURN NULL;
    END
    $fn$;

    -- Every claim inserts an attempt per item, and the foreign key checked each one with a
    -- trigger call (6.6 ms of a 256-item claim). Attempts are only ever inserted for an item
    -- the same statement has just locked and updated, and pruning deletes them explicitly
    -- with the items (as it does events), so the key guarded nothing the code does not.
    ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_item_id_fkey;
  `,
};
