import type { Command } from 'commander';
import { seedDemo } from '../../app/demo.js';
import { BUNDLED_DEMO_CONFIG } from '../../config/load-config.js';
import { parseBoundedIntOption, parseIntOption, withApp } from '../context.js';
import { listenOrExplain } from '../listen.js';
import { onShutdownSignals } from '../signals.js';
import { checkBind } from '../bind-policy.js';
import { Alerting } from '../../engine/alerts/service.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Run everything in one process: workers, scheduler, API and status page on 127.0.0.1')
    .option('--port <port>', 'HTTP port (default: api.port, 8080; 0 picks a free one)', parseBoundedIntOption('--port', 0, 65535))
    .option('--host <host>', 'HTTP host (default: api.host, 127.0.0.1)')
    .option('--insecure', 'serve on a non-loopback host without SLUICE_API_TOKEN (only behind a layer that guards it)')
    .option('--concurrency <n>', 'worker slots (default: workers.concurrency)', parseIntOption('--concurrency'))
    .option('--no-worker', 'do not run workers in this process')
    .option('--no-scheduler', 'do not run the scheduler in this process')
    .option('--demo', 'seed the demo (default when running the bundled demo config)')
    .action(async (opts, command: Command) => {
      await withApp(command, async (app) => {
        // Before anything starts: no worker, scheduler or listener for a refused bind.
        checkBind(opts.host ?? app.config.api.host, process.env.SLUICE_API_TOKEN, opts.insecure === true);
        const worker = opts.worker === false ? undefined : app.createWorker(opts.concurrency ? { concurrency: opts.concurrency } : {});
        const scheduler = opts.scheduler === false || !app.config.scheduler.enabled ? undefined : app.createScheduler();
        // Loaded here, not at the top: every other command (enqueue, worker, run, …) loads this
        // file too, and should neither pay for Fastify at startup nor break with the HTTP layer.
        const { buildServer } = await import('../../api/server.js');
        // A TurboMode scheduler_config.json: its /scheduler/* endpoints, and a scheduler that
        // POST /scheduler/start rebuilds from the re-read file.
        const turbomode = app.loaded.turbomode ? new (await import('../../app/turbomode.js')).TurboModeController(app, scheduler) : undefined;
        const server = await buildServer({ app, worker, scheduler: turbomode?.hasScheduler ? turbomode : scheduler, turbomode });
        const port = opts.port ?? app.config.api.port;
        const host = opts.host ?? app.config.api.host;
        // Fastify's own "Server listening" line would come before ours: ours says it first.
        const apiLevel = server.log.level;
        server.log.level = 'warn';
        await listenOrExplain(server, port, host);
        server.log.level = apiLevel;
        const address = server.server.address();
        const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/`;
        // The URL first, before the worker, scheduler and demo start logging.
        process.stdout.write(`Sluice is running: ${url}  (database: ${app.store.backend}; Ctrl-C to stop)\n`);
        worker?.start();
        if (turbomode?.hasScheduler) await turbomode.startLoaded();
        else await scheduler?.start();
        // Deadlines and alert delivery run beside the worker, never in its path.
        const alerting = new Alerting({
          store: app.store,
          registry: app.registry,
          config: app.config,
          logger: app.logger,
          source: app.loaded.file ?? undefined,
          dashboardUrl: url,
        });
        alerting.start();
        const demo = opts.demo || app.loaded.file === BUNDLED_DEMO_CONFIG ? await seedDemo(app, app.loaded.baseDir) : undefined;
        app.logger.info({ url, database: app.store.backend, worker_id: worker?.workerId }, 'sluice started');
        await new Promise<void>((resolve) => {
          onShutdownSignals(async (immediate) => {
            demo?.stop();
            if (turbomode?.hasScheduler) await turbomode.stop();
            else await scheduler?.stop();
            await alerting.stop();
            await worker?.stop(immediate ? 0 : undefined);
            await server.close();
            resolve();
          });
        });
      });
    });
}
