/**
 * SQLite schema, as ordered migrations. Instants are INTEGER milliseconds since the epoch
 * (compact, index-friendly, no parsing); JSON columns are TEXT.
 *
 * The claim path reads `work_items_ready`, a partial index holding only PENDING and
 * RETRY_WAIT rows in claim order, so a claim costs the same with 10 or 10 million finished
 * or far-future items in the table.
 */
export { SQLITE_MIGRATIONS } from './migrations/index.js';
