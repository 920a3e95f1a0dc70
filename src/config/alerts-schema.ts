import { z } from 'zod';
import { durationField } from './duration-field.js';

const duration = durationField;

/**
 * Config for freshness deadlines and alerts (issue #12). Deadline text is checked by the
 * time layer when the config is compiled (engine/alerts/deadline-rules.ts), so its errors
 * name the field, the value and the grammar.
 *
 *   "deadline": "close+2h"                      on the default calendar XNYS
 *   "deadline": { "at": "next_open+3h", "calendar": "XNYS", "key": "week_ending" }
 *   "deadline": "17:00 America/New_York"        a fixed local time on the partition's day
 */
export const deadlineConfigSchema = z.union([
  z.string().min(1),
  z.strictObject({
    at: z.string().min(1),
    calendar: z.string().optional(),
    /** The partition key holding the partition's day; default: week_ending when the pipeline's partition has it, else date. */
    key: z.enum(['date', 'week_ending']).optional(),
  }),
]);

export const ALERT_EVENT_NAMES = ['failed', 'deadline_missed', 'schedule_missed', 'recovered'] as const;

export const alertConfigSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, _ . or - (no spaces)'),
  on: z.array(z.enum(ALERT_EVENT_NAMES)).min(1, 'must list at least one event'),
  /** Only events of these pipelines (domain.name); schedule_missed matches its schedule's pipeline. */
  pipelines: z.array(z.string().min(3)).min(1, 'must list at least one pipeline, or be left out for all').optional(),
  webhook: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL'),
  format: z.enum(['json', 'slack']).default('json'),
  /** Base URL of the dashboard for the item link; default the URL `sluice start` serves. */
  dashboard_url: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
    .optional(),
  /** Back-off between tries of one delivery: base_delay doubling up to max_delay (default 1s, 5m). Tries never stop for 5xx/network errors. */
  retry: z.strictObject({ base_delay: duration.optional(), max_delay: duration.optional() }).optional(),
});

export type DeadlineConfig = z.output<typeof deadlineConfigSchema>;
export type AlertConfig = z.output<typeof alertConfigSchema>;
