import type { Migration } from '../../migration.js';

const IS_INT = (v: string) => `(${v} ~ '^(0|[1-9][0-9]{0,14})$')::int`;
const IS_ISO_DATE = (v: string) => `(${v} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')::int`;
// DATE_LIKE in src/api/grid.ts (JS '.' stops at line breaks).
const IS_DATE_LIKE = (v: string) => `(${v} ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?([T ][^\\n\\r]*)?$')::int`;
const SORT_KEY = (v: string) => `CASE WHEN ${v} ~ '^(0|[1-9][0-9]{0,14})$' THEN lpad(${v}, 16, '0') ELSE ${v} END`;

/** Adds a set of (domain, pipeline, key, value, n) rows, `src`, to the summary. */
const addValues = (src: string) => `
      WITH src AS (${src}),
      v AS (
        INSERT INTO grid_values AS g (domain, pipeline, key, value, sort_key, items)
        SELECT domain, pipeline, key, value, ${SORT_KEY('value')}, n FROM src
        ON CONFLICT (domain, pipeline, key, sort_key, value) DO UPDATE SET items = g.items + excluded.items
        -- xmax = 0: this statement inserted the row (a new distinct value), not updated it.
        RETURNING g.domain, g.pipeline, g.key, g.value, (g.xmax = 0) AS fresh
      ),
      per_key AS (SELECT domain, pipeline, key, sum(n)::bigint AS items FROM src GROUP BY 1, 2, 3),
      fresh AS (
        SELECT domain, pipeline, key, count(*) AS n, sum(${IS_INT('value')}) AS ints, sum(${IS_ISO_DATE('value')}) AS isos,
               sum(${IS_DATE_LIKE('value')}) AS dated
        FROM v WHERE fresh GROUP BY 1, 2, 3
      )
      INSERT INTO grid_keys AS k (domain, pipeline, key, distinct_values, items, int_values, iso_date_values, date_like_values)
      SELECT p.domain, p.pipeline, p.key, coalesce(f.n, 0), p.items, coalesce(f.ints, 0), coalesce(f.isos, 0), coalesce(f.dated, 0)
      FROM per_key p LEFT JOIN fresh f USING (domain, pipeline, key)
      ORDER BY 1, 2, 3
      ON CONFLICT (domain, pipeline, key) DO UPDATE SET distinct_values = k.distinct_values + excluded.distinct_values,
        items = k.items + excluded.items, int_values = k.int_values + excluded.int_values,
        iso_date_values = k.iso_date_values + excluded.iso_date_values, date_like_values = k.date_like_values + excluded.date_like_values`;

const PARTITION_VALUES = (t: string) =>
  `SELECT x.domain, x.pipeline, j.key, j.value, count(*) AS n FROM ${t} x, jsonb_each_text(x.partition) j GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`;

export const migration: Migration = {
  version: 7,
  name: 'partition grid summary',
  // See sqlite/migrations/0007. Statement-level triggers over the transition tables: a
  // batch enqueue of 50,000 items costs one summary upsert per distinct value, not one
  // trigger call per row. Concurrent writers meet on the value and key rows' locks
  // (ON CONFLICT waits for the other transaction), so counts stay exact; upserts go in
  // key order so two batches cannot deadlock on them. `jit = off`: the planner's estimates
  // for a transition table × jsonb_each_text pass the JIT threshold even for a one-item
  // enqueue, and compiling the statement took ~500 ms on some calls (latency p99 25 → 600 ms).
  sql: `
    CREATE TABLE grid_values (
      domain    text   NOT NULL,
      pipeline  text   NOT NULL,
      key       text   NOT NULL,
      value     text   NOT NULL,
      sort_key  text   COLLATE "C" NOT NULL,
      items     bigint NOT NULL,
      -- sort_key is a function of value, so this is unique on the value too, and one index
      -- serves both the upsert's lookup and the axis pages.
      PRIMARY KEY (domain, pipeline, key, sort_key, value)
    );
    CREATE TABLE grid_keys (
      domain           text   NOT NULL,
      pipeline         text   NOT NULL,
      key              text   NOT NULL,
      distinct_values  bigint NOT NULL,
      items            bigint NOT NULL,
      int_values       bigint NOT NULL,
      iso_date_values  bigint NOT NULL,
      date_like_values bigint NOT NULL,
      PRIMARY KEY (domain, pipeline, key)
    );
    CREATE FUNCTION grid_items_added() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT SET jit = off AS $fn$
    BEGIN
      ${addValues(PARTITION_VALUES('added_items'))};
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER grid_items_added AFTER INSERT ON work_items
      REFERENCING NEW TABLE AS added_items FOR EACH STATEMENT EXECUTE FUNCTION grid_items_added();
    CREATE FUNCTION grid_items_removed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT SET jit = off AS $fn$
    BEGIN
      UPDATE grid_values g SET items = g.items - r.n FROM (${PARTITION_VALUES('removed_items')}) r
        WHERE g.domain = r.domain AND g.pipeline = r.pipeline AND g.key = r.key AND g.sort_key = ${SORT_KEY('r.value')} AND g.value = r.value;
      -- (The update's effect is visible here: a later statement of the same function.)
      WITH removed AS (${PARTITION_VALUES('removed_items')}),
      gone AS (
        DELETE FROM grid_values g USING removed r
        WHERE g.domain = r.domain AND g.pipeline = r.pipeline AND g.key = r.key AND g.sort_key = ${SORT_KEY('r.value')} AND g.value = r.value AND g.items <= 0
        RETURNING g.domain, g.pipeline, g.key, g.value
      ),
      per_key AS (SELECT domain, pipeline, key, sum(n)::bigint AS items FROM removed GROUP BY 1, 2, 3),
      lost AS (
        SELECT domain, pipeline, key, count(*) AS n, sum(${IS_INT('value')}) AS ints, sum(${IS_ISO_DATE('value')}) AS isos,
               sum(${IS_DATE_LIKE('value')}) AS dated
        FROM gone GROUP BY 1, 2, 3
      )
      UPDATE grid_keys k SET distinct_values = k.distinct_values - coalesce(l.n, 0), items = k.items - p.items,
          int_values = k.int_values - coalesce(l.ints, 0), iso_date_values = k.iso_date_values - coalesce(l.isos, 0),
          date_like_values = k.date_like_values - coalesce(l.dated, 0)
        FROM per_key p LEFT JOIN lost l USING (domain, pipeline, key)
        WHERE k.domain = p.domain AND k.pipeline = p.pipeline AND k.key = p.key;
      DELETE FROM grid_keys WHERE distinct_values <= 0;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER grid_items_removed AFTER DELETE ON work_items
      REFERENCING OLD TABLE AS removed_items FOR EACH STATEMENT EXECUTE FUNCTION grid_items_removed();
    -- Items enqueued before this version.
    ${addValues(PARTITION_VALUES('work_items'))};
  `,
};
