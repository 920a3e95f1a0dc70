import type { Migration } from '../../migration.js';

export const migration: Migration = {
  version: 4,
  name: 'attempts by start time',
  // "Recent runs" across items, newest first. SQLite appends the rowid (= attempts.id) to
  // every index entry, so this index is (started_at, id) and serves ORDER BY started_at
  // DESC, id DESC without a sort.
  sql: `CREATE INDEX attempts_started ON attempts (started_at);`,
};
