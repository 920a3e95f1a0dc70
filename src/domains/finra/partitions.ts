import { z } from 'zod';
import { isValidDate } from '../../data/dataset.js';
import { TIERS } from './constants.js';

/** Whether `date` (YYYY-MM-DD, a real calendar date) is a Friday. */
export function isFriday(date: string): boolean {
  return isValidDate(date) && new Date(`${date}T00:00:00Z`).getUTCDay() === 5;
}

export function addDaysIso(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export const weekEndingSchema = z.string().refine(isFriday, { message: 'must be a Friday as YYYY-MM-DD (the week_ending of a FINRA week, e.g. 2025-12-19)' });

export const tierSchema = z.enum(TIERS, { message: `must be one of ${TIERS.join(', ')}` });

/** ingest_week and normalize_week: one file. */
export const weekTierPartition = z.strictObject({ week_ending: weekEndingSchema, tier: tierSchema });

/** The computes: one week across all tiers. */
export const weekPartition = z.strictObject({ week_ending: weekEndingSchema });

export function partitionKeyFor(weekEnding: string, tier: string): string {
  return `tier=${tier}|week_ending=${weekEnding}`;
}
