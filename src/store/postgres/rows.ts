import type { Attempt, WorkEvent, WorkItem } from '../../core/work-item.js';
import type { TickRecord } from '../schedule-store.js';
import type { ClaimedItem, RecentAttempt } from '../store.js';
import * as rows from '../row-mappers.js';
import { PG_ROWS, type PgRepr } from '../row-mappers.js';

/** PostgreSQL's rows (see ../row-mappers.ts), with the mappers bound to its codec. */
export type ItemRow = rows.ItemRow<PgRepr>;
export type AttemptRow = rows.AttemptRow<PgRepr>;
export type RecentAttemptRow = rows.RecentAttemptRow<PgRepr>;
export type EventRow = rows.EventRow<PgRepr>;
export type TickRow = rows.TickRow<PgRepr>;

export const toItem = (row: ItemRow): WorkItem => rows.toItem(row, PG_ROWS);
export const toClaimed = (row: ItemRow): ClaimedItem => rows.toClaimed(row, PG_ROWS);
export const toAttempt = (row: AttemptRow): Attempt => rows.toAttempt(row, PG_ROWS);
export const toRecentAttempt = (row: RecentAttemptRow): RecentAttempt => rows.toRecentAttempt(row, PG_ROWS);
export const toEvent = (row: EventRow): WorkEvent => rows.toEvent(row, PG_ROWS);
export const toTick = (row: TickRow): TickRecord => rows.toTick(row, PG_ROWS);
