import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SluiceApp } from '../app/create-app.js';
import type { Worker } from '../engine/worker.js';
import type { SchedulerPort } from './scheduler-port.js';
import type { TurboModeController } from '../app/turbomode.js';

/** What route modules get: the app (store, registry, logger) and what runs beside it. */
export interface ServerContext {
  app: SluiceApp;
  /** A worker in this process: its start/finish events feed the attempt metrics. */
  worker?: Worker;
  /** The scheduler, when this process runs one; scheduler routes answer 503 without it. */
  scheduler?: SchedulerPort;
  /** Set when the process runs a TurboMode scheduler_config.json: serves /scheduler/*. */
  turbomode?: TurboModeController;
}

export type ZodServer = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
