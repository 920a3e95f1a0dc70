import type { Migration } from '../../migration.js';

export const migration: Migration = {
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
};
