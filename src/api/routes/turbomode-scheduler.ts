import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { NoSchedulerInProcess, type TaskRunOutcome, type TurboModeController } from '../../app/turbomode.js';
import { ValidationError } from '../../core/errors.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBody, errorBodySchema } from '../errors.js';
import { pickErrors } from '../schemas.js';
import { NO_SCHEDULER_MESSAGE } from './scheduler.js';

/**
 * TurboMode's unified-scheduler endpoints (seed 004), verbatim, for a process started on a
 * scheduler_config.json:
 *
 *   GET  /scheduler/status                {running, version, jobs[{id, name, next_run}], last_runs, last_results, errors}
 *   POST /scheduler/start | stop          {success, message}; start re-reads the config file
 *   POST /scheduler/run_task/<task_id>    {success, task_id, results} once the run finished
 *   POST /scheduler/<endpoint>            the same, for each task's `endpoint`
 *
 * `?wait=false` answers 202 at once with the enqueued item. A task that cannot start because
 * an upstream task failed or has not run tonight answers 409 (it stays WAITING); a run that
 * failed 500 with `success: false`. The run routes also exist under /api/v1/scheduler/…
 * (status, start and stop there are Sluice's own routes, which carry these fields too).
 * Token auth covers every one of them (auth.ts: only probes, docs and login are open).
 */
const runQuery = z.object({ wait: z.enum(['true', 'false'], { message: 'must be true or false' }).optional() });
const runAnswer = z
  .looseObject({ success: z.boolean(), task_id: z.number().int(), results: z.record(z.string(), z.unknown()) })
  .meta({ id: 'TurboModeTaskRun' });
const statusAnswer = z
  .looseObject({
    running: z.boolean(),
    version: z.string().nullable(),
    jobs: z.array(z.looseObject({ id: z.string(), name: z.string(), next_run: z.string().nullable() })),
    last_runs: z.record(z.string(), z.string()),
    last_results: z.record(z.string(), z.record(z.string(), z.unknown())),
    errors: z.record(z.string(), z.looseObject({ timestamp: z.string(), error: z.string() })),
  })
  .meta({ id: 'TurboModeStatus' });
const controlAnswer = z.looseObject({ success: z.boolean(), message: z.string() });

/** Status, start and stop: at /scheduler only (under /api/v1 those are Sluice's own routes). */
export const turboModeRoutes: FastifyPluginAsyncZod<{ turbomode: TurboModeController }> = async (server, { turbomode }) => {
  server.get(
    '/scheduler/status',
    {
      schema: {
        tags: ['scheduler'],
        summary: 'TurboMode: scheduler status with jobs, last runs, results and errors by task id',
        response: { 200: statusAnswer, ...pickErrors(401) },
      },
    },
    async () => turbomode.status(),
  );

  for (const action of ['start', 'stop'] as const) {
    server.post(
      `/scheduler/${action}`,
      {
        schema: {
          tags: ['scheduler'],
          summary:
            action === 'start'
              ? 'TurboMode: re-read scheduler_config.json and start the scheduler'
              : 'TurboMode: stop the scheduler (queued work is untouched)',
          response: { 200: controlAnswer, 400: controlAnswer, 503: controlAnswer, ...pickErrors(401) },
        },
      },
      async (_request, reply) => {
        try {
          if (action === 'start') {
            await turbomode.start();
            return { success: true, message: ['Unified scheduler started', ...turbomode.reloadNotes].join('; ') };
          }
          await turbomode.stop();
          return { success: true, message: 'Unified scheduler stopped' };
        } catch (err) {
          if (err instanceof NoSchedulerInProcess) return reply.code(503).send({ success: false, message: NO_SCHEDULER_MESSAGE });
          // A broken edit of the file: say what is wrong, keep the scheduler as it was.
          if (err instanceof ValidationError)
            return reply.code(400).send({ success: false, message: err.message, ...errorBody('invalid_input', err.message, err.field, err.value, err.rule) });
          throw err;
        }
      },
    );
  }
};

/**
 * The run routes, mounted twice with prefix `/scheduler`: at the root, and inside the /api/v1
 * scope; `server.prefix` names the mount in the 404 message.
 */
export const turboModeRunRoutes: FastifyPluginAsyncZod<{ turbomode: TurboModeController }> = async (server, { turbomode }) => {
  const prefix = server.prefix;
  server.post(
    '/run_task/:task_id',
    {
      schema: {
        tags: ['scheduler'],
        summary: "TurboMode: run one task now for tonight's partition and answer when it finished",
        description:
          '`?wait=false` answers 202 at once. 404 for an unknown task id; 409 when an upstream task failed or has not run tonight; 500 with success false when the run failed.',
        params: z.object({
          task_id: z.coerce.number({ error: 'be a task_id from scheduler_config.json' }).int({ error: 'be a task_id from scheduler_config.json' }),
        }),
        querystring: runQuery,
        response: { 200: runAnswer, 202: runAnswer, 409: runAnswer, 500: runAnswer, ...pickErrors(401, 404) },
      },
    },
    async (request, reply) => send(reply, await run(turbomode, request.params.task_id, request.query.wait, reply)),
  );

  server.post(
    '/:endpoint',
    {
      schema: {
        tags: ['scheduler'],
        summary: "TurboMode: a task's own endpoint (its `endpoint` in scheduler_config.json), same as run_task",
        params: z.object({ endpoint: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a task endpoint such as run_ingestion') }),
        querystring: runQuery,
        response: { 200: runAnswer, 202: runAnswer, 409: runAnswer, 500: runAnswer, 404: errorBodySchema, ...pickErrors(401) },
      },
    },
    async (request, reply) => {
      const { endpoint } = request.params;
      if (!turbomode.tasks.some((t) => t.endpoint === endpoint)) {
        const known = turbomode.tasks.filter((t) => t.endpoint).map((t) => `${prefix}/${t.endpoint}`);
        return reply
          .code(404)
          .send(
            errorBody(
              'not_found',
              `no task has the endpoint ${prefix}/${endpoint}`,
              'endpoint',
              endpoint,
              `name a task endpoint (known: ${known.join(', ') || 'none'})`,
            ),
          );
      }
      return send(reply, await run(turbomode, endpoint, request.query.wait, reply));
    },
  );
};

async function run(turbomode: TurboModeController, ref: number | string, wait: string | undefined, reply: FastifyReply): Promise<TaskRunOutcome> {
  // Stop polling when the caller hangs up; the run itself carries on.
  const gone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return turbomode.runTask(ref, { wait: wait !== 'false', signal: gone.signal });
}

function send(reply: FastifyReply, outcome: TaskRunOutcome): FastifyReply {
  const { outcome: kind, ...body } = outcome;
  const status = kind === 'enqueued' ? 202 : kind === 'blocked' ? 409 : kind === 'done' && !body.success ? 500 : 200;
  return reply.code(status).send(body);
}
