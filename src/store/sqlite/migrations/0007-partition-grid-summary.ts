import type { Migration } from '../../migration.js';

/** SQL for a text value's class, as the grid sorts it (src/api/grid.ts `sortValues`). */
const IS_INT = (v: string) => `(${v} = '0' OR (${v} GLOB '[1-9]*' AND ${v} NOT GLOB '*[^0-9]*' AND length(${v}) <= 15))`;
const IS_ISO_DATE = (v: string) => `(${v} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')`;
// DATE_LIKE in grid.ts: YYYY-MM, YYYY-MM-DD, either followed by 'T' or ' ' and anything.
const IS_DATE_LIKE = (v: string) =>
  `(${v} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]' OR ${v} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9][T ]*'` +
  ` OR ${v} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' OR ${v} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ]*')`;
// Canonical integers zero-padded to 16 digits sort by value as text; everything else as is.
const SORT_KEY = (v: string) => `CASE WHEN ${IS_INT(v)} THEN substr('0000000000000000' || ${v}, -16) ELSE ${v} END`;

/**
 * The two statements that add a set of new items (`items`: a table or subquery of
 * work_items rows) to the summary, keys first (a value is new when grid_values does not
 * hold it yet), then values. Enqueue runs them once per batch in its transaction: SQLite
 * has no statement-level triggers, and a row trigger cost 40 µs per item here.
 */
export function addToGridSummary(items: string): [keys: string, values: string] {
  const batch = `batch AS (SELECT w.domain, w.pipeline, j.key, j.value, ${SORT_KEY('j.value')} AS sort_key, count(*) AS n FROM ${items} w, json_each(w.partition) j GROUP BY 1, 2, 3, 4)`;
  return [
    `WITH ${batch},
     marked AS (
       SELECT b.*, NOT EXISTS (SELECT 1 FROM grid_values g WHERE g.domain = b.domain AND g.pipeline = b.pipeline AND g.key = b.key AND g.sort_key = b.sort_key AND g.value = b.value) AS fresh
       FROM batch b
     )
     INSERT INTO grid_keys (domain, pipeline, key, distinct_values, items, int_values, iso_date_values, date_like_values)
     SELECT domain, pipeline, key, sum(fresh), sum(n), sum(fresh AND ${IS_INT('value')}), sum(fresh AND ${IS_ISO_DATE('value')}), sum(fresh AND ${IS_DATE_LIKE('value')})
     FROM marked GROUP BY domain, pipeline, key
     ON CONFLICT (domain, pipeline, key) DO UPDATE SET distinct_values = distinct_values + excluded.distinct_values, items = items + excluded.items,
       int_values = int_values + excluded.int_values, iso_date_values = iso_date_values + excluded.iso_date_values,
       date_like_values = date_like_values + excluded.date_like_values`,
    `WITH ${batch}
     INSERT INTO grid_values (domain, pipeline, key, value, sort_key, items)
     SELECT domain, pipeline, key, value, sort_key, n FROM batch WHERE true
     ON CONFLICT (domain, pipeline, key, sort_key, value) DO UPDATE SET items = items + excluded.items`,
  ];
}

export const migration: Migration = {
  version: 7,
  name: 'partition grid summary',
  // The partition grid's structure, kept in the same transaction as every insert or delete
  // of a work item: enqueue (the one insert path, see `addToGridSummary`) and a trigger on
  // delete, whatever code path deletes (prune, an operator's SQL):
  // grid_values holds each partition key's distinct values per pipeline with their item
  // counts and a sort key (canonical integers by value, the rest as text), grid_keys each
  // key's totals, including how many of its values are integers, ISO dates and date-like,
  // so the grid knows the axis order without reading the values. States are NOT kept here:
  // they change on every claim and completion, and the grid reads the few cells it shows
  // from work_items instead (the hot path pays nothing). A partition is never updated.
  sql: `
    CREATE TABLE grid_values (
      domain    TEXT    NOT NULL,
      pipeline  TEXT    NOT NULL,
      key       TEXT    NOT NULL,
      value     TEXT    NOT NULL,
      sort_key  TEXT    NOT NULL,
      items     INTEGER NOT NULL,
      -- sort_key is a function of value, so this is unique on the value too, and one B-tree
      -- serves both the upsert's lookup and the axis pages (no second index to write).
      PRIMARY KEY (domain, pipeline, key, sort_key, value)
    ) WITHOUT ROWID;
    CREATE TABLE grid_keys (
      domain           TEXT    NOT NULL,
      pipeline         TEXT    NOT NULL,
      key              TEXT    NOT NULL,
      distinct_values  INTEGER NOT NULL,
      items            INTEGER NOT NULL,
      int_values       INTEGER NOT NULL,
      iso_date_values  INTEGER NOT NULL,
      date_like_values INTEGER NOT NULL,
      PRIMARY KEY (domain, pipeline, key)
    ) WITHOUT ROWID;

    CREATE TRIGGER grid_item_removed AFTER DELETE ON work_items
    BEGIN
      -- A value whose last item this is (items = 1) leaves its key's distinct counts. The target
      -- is named, not aliased: SQLite cannot re-parse an aliased UPDATE … FROM in a trigger when
      -- any table is renamed later (ALTER TABLE … RENAME fails with "no such column: k.items").
      UPDATE grid_keys SET items = grid_keys.items - 1, distinct_values = grid_keys.distinct_values - (v.items <= 1),
          int_values = grid_keys.int_values - (v.items <= 1 AND ${IS_INT('v.value')}),
          iso_date_values = grid_keys.iso_date_values - (v.items <= 1 AND ${IS_ISO_DATE('v.value')}),
          date_like_values = grid_keys.date_like_values - (v.items <= 1 AND ${IS_DATE_LIKE('v.value')})
        FROM json_each(OLD.partition) j, grid_values v
        WHERE v.domain = OLD.domain AND v.pipeline = OLD.pipeline AND v.key = j.key AND v.sort_key = ${SORT_KEY('j.value')} AND v.value = j.value
          AND grid_keys.domain = OLD.domain AND grid_keys.pipeline = OLD.pipeline AND grid_keys.key = j.key;
      UPDATE grid_values SET items = items - 1
        WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND (key, sort_key, value) IN (SELECT j.key, ${SORT_KEY('j.value')}, j.value FROM json_each(OLD.partition) j);
      DELETE FROM grid_values
        WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND items <= 0 AND (key, sort_key, value) IN (SELECT j.key, ${SORT_KEY('j.value')}, j.value FROM json_each(OLD.partition) j);
      DELETE FROM grid_keys WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND distinct_values <= 0;
    END;

    -- Items enqueued before this version.
    ${addToGridSummary('work_items').join(';\n')};
  `,
};
