import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server.js';

export function registerHealthRoutes(server: FastifyInstance, { app, worker }: ServerContext): void {
  /** Liveness: the process answers. */
  server.get('/healthz', async () => ({ status: 'ok', worker: worker ? { id: worker.workerId, running: worker.runningCount } : null }));

  /** Readiness: the database answers. */
  server.get('/readyz', async (_req, reply) => {
    try {
      await app.store.countItems({ limit: 1 });
      return { status: 'ready', database: app.store.backend };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', error: err instanceof Error ? err.message : String(err) });
    }
  });
}
