import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 9,
  name: 'completion write path: attempts updated in place, recovered probe only after a retry',
  sql: `
    -- A completion rewrites its attempt (status, finished_at, error, output, result): none of
    -- those columns is indexed, so the update can be HOT (no new entry in the attempts
    -- indexes) whenever the new version fits on the same page. Attempts are inserted in id
    -- order and a full page had no room, so every completion inserted into all three
    -- indexes. Half of each new page is left for the completed version.
    ALTER TABLE attempts SET (fillfactor = 50);

    -- The "recovered" alert needs an earlier FAILED event of the item. FAILED is reached only
    -- from RUNNING (a final failure or an expired lease), which took a claim, and completing
    -- takes another, so an item that completes on its first claim (total_attempts = 1, never
    -- reset) cannot have failed before. Its event lookup (one index probe into work_events per
    -- completed item, 9 ms of a 516-item completion) is skipped; the item row it is checked
    -- on is the one the alert needs anyway. Same alerts as 0008 (alerts-conformance).
    CREATE OR REPLACE FUNCTION alert_events_from_work_events() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_events WHERE to_state IN ('FAILED', 'COMPLETE')) THEN
        RETURN NULL;
      END IF;
      INSERT INTO alert_events (event, domain, pipeline, partition_key, item_id, error, at, dedupe_key)
      SELECT 'failed', w.domain, w.pipeline, w.partition_key, n.item_id, n.detail, n.at, 'failed:' || n.id
      FROM new_events n
      CROSS JOIN LATERAL (SELECT i.domain, i.pipeline, i.partition_key FROM work_items i WHERE i.id = n.item_id) w
      WHERE n.to_state = 'FAILED'
      UNION ALL
      SELECT 'recovered', w.domain, w.pipeline, w.partition_key, n.item_id, NULL, n.at, 'recovered:' || n.id
      FROM new_events n
      CROSS JOIN LATERAL (SELECT i.domain, i.pipeline, i.partition_key FROM work_items i WHERE i.id = n.item_id AND i.total_attempts > 1) w
      WHERE n.to_state = 'COMPLETE'
        AND (SELECT e.to_state FROM work_events e WHERE e.item_id = n.item_id AND e.id < n.id AND e.to_state IN ('FAILED', 'COMPLETE') ORDER BY e.id DESC LIMIT 1) = 'FAILED'
      ON CONFLICT (dedupe_key) DO NOTHING;
      RETURN NULL;
    END
    $fn$;
  `,
};
