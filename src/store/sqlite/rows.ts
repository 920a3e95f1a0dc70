import type { Attempt, WorkEvent, WorkItem } from '../../core/work-item.js';
import type { TickRecord } from '../schedule-store.js';
import type { ClaimedItem, RecentAttempt } from '../store.js';
import * as rows from '../row-mappers.js';
import { SQLITE_ROWS, type SqliteRepr } from '../row-mappers.js';

/** SQLite's rows (see ../row-mappers.ts), with the mappers bound to its codec. */
export type ItemRow = rows.ItemRow<SqliteRepr>;
export type AttemptRow = rows.AttemptRow<SqliteRepr>;
export type RecentAttemptRow = rows.RecentAttemptRow<SqliteRepr>;
export type EventRow = rows.EventRow<SqliteRepr>;
export type TickRow = rows.TickRow<SqliteRepr>;

export const toItem = (row: ItemRow): WorkItem => rows.toItem(row, SQLITE_ROWS);
export const toClaimed = (row: ItemRow): ClaimedItem => rows.toClaimed(row, SQLITE_ROWS);
export const toAttempt = (row: AttemptRow): Attempt => rows.toAttempt(row, SQLITE_ROWS);
export const toRecentAttempt = (row: RecentAttemptRow): RecentAttempt => rows.toRecentAttempt(row, SQLITE_ROWS);
export const toEvent = (row: EventRow): WorkEvent => rows.toEvent(row, SQLITE_ROWS);
export const toTick = (row: TickRow): TickRecord => rows.toTick(row, SQLITE_ROWS);
