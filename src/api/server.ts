import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createMetrics } from '../metrics/metrics.js';
import { registerAuth } from './auth.js';
import { registerCsrfGuard } from './guards.js';
import type { ServerContext, ZodServer } from './context.js';
import { errorBody, toErrorResponse } from './errors.js';
import { Grids } from './grid-summary.js';
import { registerDashboard, errorPage } from './routes/dashboard.js';
import { registerHealthRoutes } from './routes/health.js';
import { turboModeRoutes, turboModeRunRoutes } from './routes/turbomode-scheduler.js';
import { apiV1Plugin } from './api-v1.js';

export type { ServerContext } from './context.js';
export type { SchedulerPort } from './scheduler-port.js';

export interface ServerOptions extends ServerContext {
  /** Bearer token every /api route requires; default: SLUICE_API_TOKEN. Empty = no auth. */
  apiToken?: string;
}

/**
 * The HTTP face of one Sluice process: REST API under /api/v1 (zod schemas on every route,
 * OpenAPI at /docs and /docs/json), the dashboard (/, /work, /items/:id, /grid, /schedules),
 * Prometheus metrics at /metrics and probes at /healthz and /readyz.
 *
 * Routes live in `routes/`, one file per concern. The /api/v1 routes are Fastify plugins
 * registered inside one scope (`api-v1.ts`, `{ prefix: '/api/v1' }`, auth as its hook); the
 * dashboard, probes and TurboMode's /scheduler paths sit at the root under the root auth hook. Request logs go to the app's pino logger at debug
 * level (method, path, status, time; never headers, so never the Authorization token).
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { app } = options;
  const ctx: ServerContext = { app, worker: options.worker, scheduler: options.scheduler, turbomode: options.turbomode };
  const token = options.apiToken ?? process.env.SLUICE_API_TOKEN ?? '';
  const log = app.logger.child({ component: 'api' });

  const server = Fastify({
    loggerInstance: log,
    // Explicit, so the limit is a documented contract: 1 MiB per request body (a batch
    // enqueue is also capped at 1000 items by its schema); larger bodies get 413.
    bodyLimit: 1024 * 1024,
    // Fastify's own per-request lines are off; the onResponse hook below logs at debug.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>() as unknown as ZodServer;
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);

  server.addHook('onResponse', async (request, reply) => {
    log.debug({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'http request');
  });

  registerCsrfGuard(server);
  const auth = registerAuth(server, token || undefined);
  if (auth.enabled) log.info('API token auth enabled: /api routes and dashboard pages need the token');

  await server.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Sluice API',
        version: '1',
        description:
          'Scheduler and durable work queue for market-data pipelines. Errors are `{error: {code, field, value, rule, message}}`. ' +
          'When SLUICE_API_TOKEN is set every /api route needs `Authorization: Bearer TOKEN` (401 otherwise); /metrics, /healthz, /readyz and these docs stay open.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: auth.enabled ? [{ bearer: [] }] : [],
      tags: [
        { name: 'work', description: 'Work items: enqueue, list, inspect, retry, cancel; attempts' },
        { name: 'pipelines', description: 'Pipelines and manual runs' },
        { name: 'schedules', description: 'Schedules (need a scheduler in this process)' },
        { name: 'scheduler', description: 'The scheduler in this process' },
        { name: 'overview', description: 'Dashboard read models' },
        { name: 'data', description: 'Data layer' },
        { name: 'health', description: 'Probes and metrics (no auth)' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await server.register(swaggerUi, { routePrefix: '/docs' });

  const metrics = createMetrics({ store: app.store, registry: app.registry, logger: log, worker: options.worker, scheduler: options.scheduler });
  server.addHook('onClose', async () => metrics.detach());
  const grids = new Grids(app.store);

  server.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorResponse(err, request);
    if (status === 500) log.error({ err, method: request.method, path: request.url.split('?')[0] }, 'request failed');
    else log.debug({ status, code: body.error.code, field: body.error.field }, 'request rejected');
    const isDashboard = (request.routeOptions.config as { dashboard?: boolean } | undefined)?.dashboard === true;
    if (isDashboard) {
      const title = status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Bad request';
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(errorPage(status, title, body.error.message, auth.enabled, app.store.backend));
    }
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  server.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const message = `no route for ${request.method} ${path}`;
    if (!path.startsWith('/api/') && /text\/html/.test(String(request.headers.accept ?? ''))) {
      return reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(errorPage(404, 'Not found', `${message}.`, auth.enabled, app.store.backend));
    }
    return reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send(errorBody('not_found', message, 'path', path, 'name an existing route (see /docs)'));
  });

  registerHealthRoutes(server, ctx, metrics);
  await server.register(apiV1Plugin, { prefix: '/api/v1', ...ctx, grids, auth });
  if (ctx.turbomode) {
    // TurboMode's own paths (seed 004), outside /api/v1: guarded by the root hook like the dashboard.
    await server.register(turboModeRoutes, { turbomode: ctx.turbomode });
    await server.register(turboModeRunRoutes, { prefix: '/scheduler', turbomode: ctx.turbomode });
  }
  registerDashboard(server, ctx, grids, auth);

  await server.ready();
  return server as unknown as FastifyInstance;
}
