import { OUTSTANDING_STATES } from '../../core/states.js';
import { FROM, inList } from '../sql-fragments.js';
import { quoteIdent } from './migrations.js';

export { FROM, inList } from '../sql-fragments.js';

/**
 * Instants the database stamps itself come from its clock, not the caller's, so leases set
 * and checked by different hosts agree. Truncated to milliseconds so they survive the trip
 * through a JS Date unchanged. A caller-supplied `now` (tests, replays) takes precedence.
 */
export const DB_NOW = `date_trunc('milliseconds', statement_timestamp())`;
export const nowOr = (param: string) => `coalesce(${param}::timestamptz, ${DB_NOW})`;

/**
 * The names every family of statements builds on: quoted tables of one schema and the
 * fragments several families share. Only validated, quoted identifiers and constants from
 * the transition table are interpolated; every value is a bind parameter.
 */
export function pgNames(schema: string) {
  const q = quoteIdent(schema, 'schema name');
  const items = `${q}.work_items`;
  const attempts = `${q}.attempts`;
  const events = `${q}.work_events`;
  const deps = `${q}.work_dependencies`;
  const ticks = `${q}.schedule_ticks`;
  const leases = `${q}.leases`;
  const attemptSeq = `'${q}.attempts_id_seq'::regclass`;
  const itemSeq = `'${q}.work_items_id_seq'::regclass`;
  const READY = FROM('claim');
  const RUNNABLE = inList(OUTSTANDING_STATES.filter((st) => st !== 'WAITING'));
  // Advisory lock key of an upstream partition (class LOCK_CLASS.upstream).
  const upstreamKey = (d: string, p: string, k: string) => `hashtext(concat_ws(chr(31), '${schema}', ${d}, ${p}, ${k}))`;
  // Upstreams of item `id` that are not COMPLETE, including ones never enqueued.
  const openUpstreams = (id: string) => `
        SELECT 1 FROM ${deps} o
        LEFT JOIN ${items} up ON up.domain = o.up_domain AND up.pipeline = o.up_pipeline AND up.partition_key = o.up_key
        WHERE o.item_id = ${id} AND up.state IS DISTINCT FROM 'COMPLETE'`;
  // Distinct priorities among ready items, highest first, one index probe each (a "loose
  // index scan"). Claims then read each priority's range with `desired_at <= now` as a
  // bound, so far-future items are never visited, however many there are.
  const levels = `
    levels AS (
      (SELECT priority FROM ${items} WHERE state IN (${READY}) ORDER BY priority DESC LIMIT 1)
      UNION ALL
      SELECT (SELECT w.priority FROM ${items} w
              WHERE w.state IN (${READY}) AND w.priority < l.priority
              ORDER BY w.priority DESC LIMIT 1)
      FROM levels l WHERE l.priority IS NOT NULL
    )`;
  return { schema, q, items, attempts, events, deps, ticks, leases, attemptSeq, itemSeq, READY, RUNNABLE, upstreamKey, openUpstreams, levels };
}

export type PgNames = ReturnType<typeof pgNames>;
