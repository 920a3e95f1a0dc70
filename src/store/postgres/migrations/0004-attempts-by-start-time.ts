import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 4,
  name: 'attempts by start time',
  // "Recent runs" across items, newest first (ORDER BY started_at DESC, id DESC): id is in
  // the index so the order needs no sort, as on SQLite where the rowid is implicit.
  sql: `CREATE INDEX attempts_started ON attempts (started_at, id);`,
};
