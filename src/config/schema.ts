import { z } from 'zod';
import { durationField } from './duration-field.js';
import { checkCommandEntry, commandFields } from './command-pipeline.js';
import { commandOutputSchema, dependsOnEntrySchema } from './command-output.js';
import { alertConfigSchema, deadlineConfigSchema } from './alerts-schema.js';

/**
 * The config file, as in the design's contract. Objects are strict: a misspelt key
 * (`max_attemps`) is an error naming the path, not a silently ignored setting.
 */
const duration = durationField;

/** Zones already accepted: a config of 10,000 schedules names a handful, and building an
 * Intl formatter per schedule was a visible share of start-up. */
const knownZones = new Set<string>();

const timezone = z.string().refine(
  (tz) => {
    if (knownZones.has(tz)) return true;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      knownZones.add(tz);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IANA time zone such as America/New_York or UTC' },
);

export const retrySchema = z.strictObject({
  max_attempts: z.number().int().min(1).max(1000).optional(),
  base_delay: duration.optional(),
  factor: z.number().min(1).max(100).optional(),
  max_delay: duration.optional(),
  jitter: z.number().min(0).max(1).optional(),
});

const pipelineName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower-case word of [a-z0-9_] (no dots)');
const domainName = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, 'must be lower-case words of [a-z0-9_] separated by dots');

export const pipelineConfigSchema = z
  .strictObject({
    domain: domainName,
    name: pipelineName,
    description: z.string().optional(),
    /** `command`, `cwd`, `env`, `partition`, `params`: see command-pipeline.ts (config-only commands, `{key}` placeholders). */
    ...commandFields,
    retry: retrySchema.optional(),
    timeout: duration.optional(),
    concurrency: z.number().int().min(1).optional(),
    priority: z.number().int().optional(),
    /** Command pipelines: upstreams that must be COMPLETE first (see command-output.ts). */
    depends_on: z.array(dependsOnEntrySchema).optional(),
    /** Command pipelines: the dataset the script's rows land in (see command-output.ts). */
    output: commandOutputSchema.optional(),
    /** When each partition is due (freshness deadline), e.g. "close+2h": see alerts-schema.ts. */
    deadline: deadlineConfigSchema.optional(),
  })
  .superRefine(checkCommandEntry);

export const scheduleConfigSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, _ . or - (no spaces)'),
  pipeline: z.string().min(3),
  cron: z.string().optional(),
  timezone: timezone.optional(),
  calendar: z.string().optional(),
  at: z.string().optional(),
  /** Interval trigger, e.g. "15m" (instead of cron/at). */
  every: duration.optional(),
  /** Anchor instant (ISO-8601) for a windowless `every`; default the UTC epoch. */
  start: z.string().optional(),
  /** Each tick moves later by a deterministic amount in [0, jitter). Only with `every`. */
  jitter: duration.optional(),
  /** "session": fire only inside the calendar's sessions, open and close included. */
  window: z.enum(['session']).optional(),
  partitions: z.record(z.string(), z.unknown()).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  priority: z.number().int().optional(),
  misfire_grace: duration.optional(),
  coalesce: z.boolean().optional(),
  max_instances: z.number().int().min(1).optional(),
  catchup: z.union([duration, z.boolean()]).optional(),
  overlap: z.enum(['skip', 'buffer_one', 'allow']).optional(),
  enabled: z.boolean().optional(),
  /** Freshness deadline of the partitions this schedule enqueues (see alerts-schema.ts). */
  deadline: deadlineConfigSchema.optional(),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  database: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH or a postgres:// URL')
    .default('sqlite:./sluice.db'),
  timezone: timezone.default('America/New_York'),
  workers: z
    .strictObject({
      concurrency: z.number().int().min(1).max(1024).default(8),
      lease: duration.default('30s'),
      heartbeat: duration.optional(),
      poll_interval: duration.default('1s'),
      shutdown_grace: duration.default('30s'),
      /** Items claimed ahead of free slots (one claim round trip feeds many starts); 0 = off.
       * See docs/performance.md: attempts then start at claim time, and one worker can hold
       * up to this many items that other workers cannot take until it runs or releases them. */
      local_queue: z.number().int().min(0).max(10_000).default(0),
    })
    .prefault({}),
  scheduler: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Leadership lease: when the leading scheduler dies, another takes over within this. */
      lease: duration.default('15s'),
      /** Lookbacks over this many weeks are clamped with a warning unless forced. */
      max_lookback_weeks: z.number().int().min(1).default(12),
    })
    .prefault({}),
  api: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  /** Where values from work items (params such as data_dir, export_dir, base_url) may point:
   * see src/connectors/access.ts. Config-side values (this section, env vars, CLI flags) are trusted. */
  access: z
    .strictObject({
      /** Directories (relative: to the config's directory) item paths must stay inside. Default: the config's directory. */
      data_roots: z.array(z.string().min(1)).min(1, 'must list at least one directory').optional(),
      /** Hosts (`host` for any port, or `host:port`) item URLs may name, besides each vendor's own public API host. */
      allowed_hosts: z
        .array(
          z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'must be a host name or address, optionally with :port (no scheme or path)'),
        )
        .optional(),
    })
    .prefault({}),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pipelines: z.array(pipelineConfigSchema).default([]),
  /** Files (relative to the config) whose exports are pipelines made with definePipeline. */
  modules: z.array(z.string().min(1, 'must name a file such as ./pipelines/train.ts')).optional(),
  schedules: z.array(scheduleConfigSchema).default([]),
  /** Webhooks for failed, deadline_missed, schedule_missed and recovered events. */
  alerts: z.array(alertConfigSchema).default([]),
  calendars: z
    .record(
      z.string(),
      z.strictObject({
        adhoc_closures: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')).optional(),
        early_closes: z.array(z.strictObject({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), close: z.string().regex(/^\d{2}:\d{2}$/) })).optional(),
      }),
    )
    .default({}),
});

export type SluiceConfigInput = z.input<typeof configSchema>;
export type SluiceConfig = z.output<typeof configSchema>;
export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type ScheduleConfig = z.output<typeof scheduleConfigSchema>;
