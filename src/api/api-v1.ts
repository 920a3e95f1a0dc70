import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { markApiScope, type Auth } from './auth.js';
import type { ServerContext } from './context.js';
import type { Grids } from './grid-summary.js';
import { backfillRoutes } from './routes/backfills.js';
import { captureRoutes } from './routes/captures.js';
import { dataRoutes } from './routes/data.js';
import { lineageRoutes } from './routes/graph-page.js';
import { launchRoutes } from './routes/launch.js';
import { manifestRoutes } from './routes/manifest.js';
import { overviewRoutes } from './routes/overview.js';
import { pipelineRoutes } from './routes/pipelines.js';
import { scheduleControlRoutes } from './routes/schedule-controls.js';
import { schedulerRoutes } from './routes/scheduler.js';
import { turboModeRunRoutes } from './routes/turbomode-scheduler.js';
import { workRoutes } from './routes/work.js';

export interface ApiV1Options extends ServerContext {
  grids: Grids;
  auth: Auth;
}

/**
 * The REST API, one encapsulated scope registered with `{ prefix: '/api/v1' }`: route paths
 * inside are relative to it, and the token check is this scope's own onRequest hook (onRequest,
 * not preHandler, so an unauthenticated request gets 401 before its body is parsed or
 * validated, exactly as before the split).
 */
export const apiV1Plugin: FastifyPluginAsyncZod<ApiV1Options> = async (api, { app, worker, scheduler, turbomode, grids, auth }) => {
  // Picked, not spread: the plugin's options also carry `prefix`, which the children must not get.
  const ctx: ServerContext = { app, worker, scheduler, turbomode };
  api.addHook('onRoute', markApiScope);
  if (auth.guard) api.addHook('onRequest', auth.guard);

  await api.register(workRoutes, ctx);
  await api.register(pipelineRoutes, ctx);
  await api.register(schedulerRoutes, ctx);
  await api.register(manifestRoutes, ctx);
  await api.register(dataRoutes, ctx);
  await api.register(backfillRoutes, ctx);
  await api.register(scheduleControlRoutes, ctx);
  await api.register(launchRoutes, ctx);
  if (turbomode) await api.register(turboModeRunRoutes, { prefix: '/scheduler', turbomode });
  await api.register(captureRoutes, ctx);
  await api.register(overviewRoutes, { ...ctx, grids });
  await api.register(lineageRoutes, ctx);
};
