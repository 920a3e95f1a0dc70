import { z } from 'zod';
import { scheduleEvents, setSchedulePaused } from '../../engine/schedule-controls.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { limitParam, pickErrors } from '../schemas.js';

const controlSchema = z
  .object({ schedule: z.string(), paused: z.boolean(), updated_at: z.string(), actor: z.string().nullable() })
  .meta({ id: 'ScheduleControl' });
const eventSchema = z.object({ id: z.number().int(), at: z.string(), event: z.string(), actor: z.string().nullable(), detail: z.string().nullable() });

/** Pause / resume a schedule and read its event log. These work from the database, so a
 * `sluice api` process can pause a schedule that a scheduler elsewhere fires. */
export const scheduleControlRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    server.post(
      `/schedules/:name/${action}`,
      {
        schema: {
          tags: ['scheduler'],
          summary: paused
            ? 'Pause a schedule: ticks that fall due are recorded as skipped_paused, nothing is enqueued'
            : 'Resume a paused schedule from its next tick',
          params: z.object({ name: z.string().min(1) }),
          body: z.strictObject({ reason: z.string().max(500).optional() }).nullish(),
          response: { 200: controlSchema, ...pickErrors(400, 401, 404) },
        },
      },
      async (request) => setSchedulePaused(app.store, app.schedules, request.params.name, paused, 'api', request.body?.reason ?? null),
    );
  }

  server.get(
    '/schedules/:name/events',
    {
      schema: {
        tags: ['scheduler'],
        summary: 'Operator events of a schedule (paused, resumed, triggered), newest first',
        params: z.object({ name: z.string().min(1) }),
        querystring: z.strictObject({ limit: limitParam(50, 500) }),
        response: { 200: z.object({ events: z.array(eventSchema) }), ...pickErrors(400, 401, 404) },
      },
    },
    async (request) => ({ events: await scheduleEvents(app.store, app.schedules, request.params.name, request.query.limit) }),
  );
};
