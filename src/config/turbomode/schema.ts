import { z } from 'zod';
import { commandFields } from '../command-pipeline.js';

/**
 * TurboMode's `scheduler_config.json` (seed 004, the unified scheduler), as its users wrote
 * it for APScheduler, plus the few keys Sluice adds so a task can say what it runs and what it
 * waits for. Objects are strict: a key that is not built here is an error naming it, never a
 * setting that is silently ignored.
 *
 * APScheduler units are kept: `misfire_grace_time` is SECONDS (300 = five minutes),
 * `timeout_minutes` minutes, cron `day_of_week` 0 = Monday.
 */

/** A cron field as APScheduler takes it: a number, or text such as "*", "mon-fri", "1-5/2", "0,30". */
const cronField = z.union([z.number().int({ message: 'must be a whole number or an expression such as "*/15"' }), z.string().min(1)]);

/** APScheduler trigger arguments that Sluice does not build: named in the error. */
export const UNBUILT_SCHEDULE_KEYS: Readonly<Record<string, string>> = {
  year: 'not be used: a "year" field is not built (cron fires every year)',
  week: 'not be used: ISO "week" numbers are not built (use day_of_week and day)',
  start_date: 'not be used: start_date is not built (set "enabled": false until the task should run)',
  end_date: 'not be used: end_date is not built (set "enabled": false when the task should stop)',
  jitter: 'not be used: cron jitter is not built',
};

export const turboScheduleSchema = z
  .looseObject({
    type: z.literal('cron', { message: 'must be "cron": interval and date triggers are not built' }),
    month: cronField.optional(),
    day: cronField.optional(),
    day_of_week: cronField.optional(),
    hour: cronField.optional(),
    minute: cronField.optional(),
    second: cronField.optional(),
    /** Per-task zone (APScheduler's trigger `timezone`); default global_settings.timezone. */
    timezone: z.string().min(1).optional(),
  })
  .superRefine((s, ctx) => {
    const known = new Set(['type', 'month', 'day', 'day_of_week', 'hour', 'minute', 'second', 'timezone']);
    for (const key of Object.keys(s)) {
      if (known.has(key)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: UNBUILT_SCHEDULE_KEYS[key] ?? 'not be present: unknown schedule field (known: type, month, day, day_of_week, hour, minute, second, timezone)',
      });
    }
  });

/** `misfire_grace_time`: seconds a late run may still start; null = however late (APScheduler's None). */
const misfireGraceSeconds = z.number().int().min(1, 'must be at least 1 (seconds)').nullable();

const jobOptions = {
  coalesce: z.boolean().optional(),
  max_instances: z.number().int().min(1).optional(),
  misfire_grace_time: misfireGraceSeconds.optional(),
};

export const turboTaskSchema = z.strictObject({
  task_id: z.number().int().min(1, 'must be a positive whole number'),
  name: z.string().min(1),
  function_name: z.string().min(1),
  /** `/scheduler/run_ingestion`: also served as POST /api/v1/scheduler/run_ingestion. */
  endpoint: z
    .string()
    .regex(/^\/scheduler\/[A-Za-z0-9_-]+$/, 'must be /scheduler/NAME with NAME letters, digits, _ or -')
    .optional(),
  enabled: z.boolean().optional(),
  schedule: turboScheduleSchema,
  timeout_minutes: z.number().gt(0, 'must be more than 0 (minutes)').optional(),
  retry_on_failure: z.boolean().optional(),
  max_retries: z.number().int().min(0).max(999).optional(),
  /** APScheduler add_job options: override global_settings.job_defaults for this task. */
  ...jobOptions,
  // Sluice additions. What runs comes only from this file (see command-pipeline.ts).
  command: commandFields.command,
  cwd: commandFields.cwd,
  env: commandFields.env,
  /** Tasks that must finish first, for the same night: task ids (1) or task names. */
  depends_on: z.array(z.union([z.number().int(), z.string().min(1)])).optional(),
});

export const turboModeSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.union([z.string().min(1), z.number()]).optional(),
  global_settings: z
    .strictObject({
      timezone: z.string().min(1).optional(),
      /** Work items running at once in this process (the worker's slots). */
      max_concurrent_jobs: z.number().int().min(1).max(1024).optional(),
      job_defaults: z.strictObject(jobOptions).optional(),
    })
    .optional(),
  scheduled_tasks: z.array(turboTaskSchema).min(1, 'must list at least one task'),
  // Sluice additions beside the tasks.
  /** Where Sluice keeps its queue; default sqlite:./sluice.db next to this file. */
  database: z.string().min(1).optional(),
  /** Sluice pipeline entries (as in sluice.config.json) a task's function_name may name. */
  pipelines: z.array(z.record(z.string(), z.unknown())).optional(),
});

export type TurboModeConfig = z.output<typeof turboModeSchema>;
export type TurboTask = z.output<typeof turboTaskSchema>;
export type TurboSchedule = z.output<typeof turboScheduleSchema>;

export { isTurboModeConfig } from './detect.js';
