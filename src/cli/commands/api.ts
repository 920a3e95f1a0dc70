import type { Command } from 'commander';
import { parseBoundedIntOption, withApp } from '../context.js';
import { listenOrExplain } from '../listen.js';
import { onShutdownSignals } from '../signals.js';
import { checkBind } from '../bind-policy.js';

/** `sluice api`: the REST API, dashboard and /metrics without workers or a scheduler, e.g. a
 * read/operate front end beside worker processes on the same PostgreSQL database. */
export function registerApi(program: Command): void {
  program
    .command('api')
    .description('Serve the REST API (/api/v1, OpenAPI at /docs), the dashboard and /metrics on 127.0.0.1, without workers')
    .option('--port <port>', 'HTTP port (default: api.port, 8080; 0 picks a free one)', parseBoundedIntOption('--port', 0, 65535))
    .option('--host <host>', 'HTTP host (default: api.host, 127.0.0.1)')
    .option('--insecure', 'serve on a non-loopback host without SLUICE_API_TOKEN (only behind a layer that guards it)')
    .action(async (opts, command: Command) => {
      await withApp(command, async (app) => {
        // Before anything starts: no worker, scheduler or listener for a refused bind.
        checkBind(opts.host ?? app.config.api.host, process.env.SLUICE_API_TOKEN, opts.insecure === true);
        // Loaded here so other commands do not pay for the HTTP layer at startup.
        const { buildServer } = await import('../../api/server.js');
        const { databaseSchedulerPort } = await import('../../api/database-scheduler-port.js');
        // Schedules, ticks and pause flags are read from the database (a scheduler may run
        // elsewhere); this process never starts one.
        const server = await buildServer({ app, scheduler: databaseSchedulerPort(app.createScheduler()) });
        const port = opts.port ?? app.config.api.port;
        const host = opts.host ?? app.config.api.host;
        await listenOrExplain(server, port, host);
        const address = server.server.address();
        const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/`;
        app.logger.info({ url, database: app.store.backend, auth: Boolean(process.env.SLUICE_API_TOKEN) }, 'sluice api started');
        process.stdout.write(`Sluice API and dashboard: ${url}  (OpenAPI: ${url}docs; database: ${app.store.backend}; Ctrl-C to stop)\n`);
        await new Promise<void>((resolve) => {
          onShutdownSignals(async () => {
            await server.close();
            resolve();
          });
        });
      });
    });
}
