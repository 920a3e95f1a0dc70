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

export const migration: Migration = {
  version: 7,
  name: 'partition grid summary',
  // The partition grid's structure, kept by triggers in the same transaction as every insert
  // or delete of a work item, whatever code path made it (enqueue, schedule tick, prune):
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
      PRIMARY KEY (domain, pipeline, key, value)
    ) WITHOUT ROWID;
    CREATE INDEX grid_values_order ON grid_values (domain, pipeline, key, sort_key);
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

    CREATE TRIGGER grid_value_added AFTER INSERT ON grid_values
    BEGIN
      INSERT INTO grid_keys (domain, pipeline, key, distinct_values, items, int_values, iso_date_values, date_like_values)
        VALUES (NEW.domain, NEW.pipeline, NEW.key, 1, NEW.items, ${IS_INT('NEW.value')}, ${IS_ISO_DATE('NEW.value')}, ${IS_DATE_LIKE('NEW.value')})
        ON CONFLICT DO UPDATE SET distinct_values = distinct_values + 1, items = items + excluded.items,
          int_values = int_values + excluded.int_values, iso_date_values = iso_date_values + excluded.iso_date_values,
          date_like_values = date_like_values + excluded.date_like_values;
    END;
    CREATE TRIGGER grid_value_counted AFTER UPDATE OF items ON grid_values
    BEGIN
      UPDATE grid_keys SET items = items + NEW.items - OLD.items WHERE domain = NEW.domain AND pipeline = NEW.pipeline AND key = NEW.key;
    END;
    CREATE TRIGGER grid_value_gone AFTER DELETE ON grid_values
    BEGIN
      UPDATE grid_keys SET distinct_values = distinct_values - 1, items = items - OLD.items,
          int_values = int_values - ${IS_INT('OLD.value')}, iso_date_values = iso_date_values - ${IS_ISO_DATE('OLD.value')},
          date_like_values = date_like_values - ${IS_DATE_LIKE('OLD.value')}
        WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND key = OLD.key;
      DELETE FROM grid_keys WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND key = OLD.key AND distinct_values <= 0;
    END;

    CREATE TRIGGER grid_item_added AFTER INSERT ON work_items
    BEGIN
      INSERT INTO grid_values (domain, pipeline, key, value, sort_key, items)
        SELECT NEW.domain, NEW.pipeline, j.key, j.value, ${SORT_KEY('j.value')}, 1 FROM json_each(NEW.partition) j WHERE true
        ON CONFLICT DO UPDATE SET items = items + 1;
    END;
    CREATE TRIGGER grid_item_removed AFTER DELETE ON work_items
    BEGIN
      UPDATE grid_values SET items = items - 1
        WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND (key, value) IN (SELECT j.key, j.value FROM json_each(OLD.partition) j);
      DELETE FROM grid_values
        WHERE domain = OLD.domain AND pipeline = OLD.pipeline AND items <= 0 AND (key, value) IN (SELECT j.key, j.value FROM json_each(OLD.partition) j);
    END;

    -- Items enqueued before this version.
    INSERT INTO grid_values (domain, pipeline, key, value, sort_key, items)
      SELECT w.domain, w.pipeline, j.key, j.value, ${SORT_KEY('j.value')}, count(*)
      FROM work_items w, json_each(w.partition) j GROUP BY w.domain, w.pipeline, j.key, j.value;
  `,
};
