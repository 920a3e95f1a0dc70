import Fastify, { type FastifyInstance } from 'fastify';
import type { SluiceApp } from '../app/create-app.js';
import type { Worker } from '../engine/worker.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerStatusPage } from './routes/status-page.js';

export interface ServerContext {
  app: SluiceApp;
  worker?: Worker;
}

/**
 * The HTTP face of one Sluice process. Routes live in `routes/`, one file per concern, each
 * a function that takes the Fastify instance and the context it needs.
 */
export async function buildServer(ctx: ServerContext): Promise<FastifyInstance> {
  const server = Fastify({ logger: false });
  registerHealthRoutes(server, ctx);
  registerStatusPage(server, ctx);
  await server.ready();
  return server;
}
