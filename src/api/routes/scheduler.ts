import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { ApiError, errorBodySchema } from '../errors.js';
import type { SchedulerPort } from '../scheduler-port.js';
import { pickErrors } from '../schemas.js';

const statusSchema = z
  .object({
    running: z.boolean(),
    leader: z.boolean(),
    schedules: z.number().int(),
    last_tick_at: z.string().nullable(),
    // A process started on a TurboMode scheduler_config.json adds the seed's fields
    // (see turbomode-scheduler.ts); start/stop add TurboMode's {success, message}.
    version: z.string().nullable().optional(),
    jobs: z.array(z.looseObject({ id: z.string(), name: z.string(), next_run: z.string().nullable() })).optional(),
    last_runs: z.record(z.string(), z.string()).optional(),
    last_results: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    errors: z.record(z.string(), z.looseObject({ timestamp: z.string(), error: z.string() })).optional(),
    success: z.boolean().optional(),
    message: z.string().optional(),
  })
  .meta({ id: 'SchedulerStatus' });

const tickSchema = z.object({ scheduled_at: z.string(), fired_at: z.string().nullable(), outcome: z.string(), detail: z.string().nullable() });

export const scheduleSchema = z
  .object({
    name: z.string(),
    pipeline: z.string(),
    cron: z.string().nullable(),
    at: z.string().nullable(),
    every: z.string().nullable().optional(),
    window: z.string().nullable().optional(),
    calendar: z.string().nullable(),
    timezone: z.string(),
    enabled: z.boolean(),
    paused: z.boolean().optional(),
    next_fire_times: z.array(z.string()),
    recent_ticks: z.array(tickSchema),
  })
  .meta({ id: 'Schedule' });

const unavailable = { 503: errorBodySchema };

export const NO_SCHEDULER_MESSAGE =
  'No scheduler is attached to this process, so schedules cannot be listed, triggered, started or stopped here. ' +
  'Run the scheduler in this process (sluice start) or ask the process that runs it.';

export function requireScheduler(scheduler: SchedulerPort | undefined): SchedulerPort {
  if (!scheduler) throw new ApiError(503, 'scheduler_unavailable', NO_SCHEDULER_MESSAGE);
  return scheduler;
}

export const schedulerRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { scheduler }) => {
  server.get(
    '/schedules',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Schedules with their next fire times and recent ticks',
        description: '503 when no scheduler is attached to this process.',
        response: { 200: z.object({ schedules: z.array(scheduleSchema) }), ...pickErrors(401), ...unavailable },
      },
    },
    async () => ({ schedules: await requireScheduler(scheduler).listSchedules() }),
  );

  server.post(
    '/schedules/:name/trigger',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Fire a schedule now (enqueues what its next tick would)',
        description: '404 for an unknown schedule name; 503 when no scheduler is attached.',
        params: z.object({ name: z.string().min(1) }),
        response: {
          200: z.object({ schedule: z.string(), enqueued: z.number().int(), items: z.array(z.number().int()) }),
          ...pickErrors(401, 404),
          ...unavailable,
        },
      },
    },
    async (request) => {
      const s = requireScheduler(scheduler);
      const { name } = request.params;
      const known = await s.listSchedules();
      if (!known.some((k) => k.name === name)) {
        throw new ApiError(
          404,
          'not_found',
          `schedule ${JSON.stringify(name)} not found`,
          'name',
          name,
          `name a configured schedule (known: ${known.map((k) => k.name).join(', ') || 'none'})`,
        );
      }
      const result = await s.trigger(name);
      return { schedule: name, enqueued: result.enqueued, items: result.items };
    },
  );

  for (const action of ['start', 'stop'] as const) {
    server.post(
      `/scheduler/${action}`,
      {
        schema: {
          tags: ['scheduler'],
          summary: action === 'start' ? 'Start the scheduler in this process' : 'Stop the scheduler in this process (queued work is untouched)',
          description: 'Answers the scheduler status afterwards; 503 when no scheduler is attached.',
          response: { 200: statusSchema, ...pickErrors(401), ...unavailable },
        },
      },
      async () => {
        const s = requireScheduler(scheduler);
        await s[action]();
        return { ...(await s.status()), success: true, message: action === 'start' ? 'Unified scheduler started' : 'Unified scheduler stopped' };
      },
    );
  }

  server.get(
    '/scheduler/status',
    {
      schema: {
        tags: ['scheduler'],
        summary: 'Scheduler status: running, leader (holds the tick lock), schedules, last tick',
        description: '503 with an explanation when no scheduler is attached to this process.',
        response: { 200: statusSchema, ...pickErrors(401), ...unavailable },
      },
    },
    async () => requireScheduler(scheduler).status(),
  );
};
