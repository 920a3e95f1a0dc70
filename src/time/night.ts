import { addDays, type DateString } from './civil-date.js';
import { instantToZonedParts } from './zoned.js';

/**
 * The night an instant belongs to, named by the local date of its evening.
 *
 * A nightly chain (TurboMode: ingestion 22:45, training 23:00, backtest 00:00, drift 00:30)
 * crosses midnight, yet every step must work on the same partition so that "drift waits for
 * training and backtest" links the right runs. The rule: a night runs from local noon to the
 * next local noon, so 22:45 on Jan 6 and 00:30 on Jan 7 are both the night of 2026-01-06.
 * A Sunday 02:00 job belongs to Saturday's night.
 */
export const NIGHT_STARTS_AT_HOUR = 12;

export function nightDate(instant: Date, tz: string): DateString {
  const p = instantToZonedParts(instant, tz);
  return p.hour < NIGHT_STARTS_AT_HOUR ? addDays(p.date, -1) : p.date;
}
