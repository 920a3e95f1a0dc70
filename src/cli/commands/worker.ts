import type { Command } from 'commander';
import { parseIntOption, withApp } from '../context.js';
import { onShutdownSignals } from '../signals.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run a worker pool that claims and runs work items until stopped (SIGINT/SIGTERM)')
    .option('--concurrency <n>', 'concurrent handler slots (default: workers.concurrency)', parseIntOption('--concurrency'))
    .option('--drain', 'exit when nothing is PENDING, RUNNING, RETRY_WAIT or WAITING: 0, or 1 if anything ended FAILED')
    .action(async (opts, command: Command) => {
      await withApp(command, async (app) => {
        const worker = app.createWorker(opts.concurrency ? { concurrency: opts.concurrency } : {});
        let stopping: Promise<void> | null = null;
        onShutdownSignals(async (immediate) => {
          stopping = worker.stop(immediate ? 0 : undefined);
          await stopping;
        });
        app.logger.info({ worker_id: worker.workerId, database: app.store.backend, pipelines: app.registry.keys().length }, 'worker started');
        if (opts.drain) {
          const { failed } = await worker.drain();
          app.logger.info({ failed }, 'drained');
          process.exitCode = failed > 0 ? 1 : 0;
          return;
        }
        worker.start();
        await new Promise<void>((resolve) => {
          const check = setInterval(() => {
            if (stopping) {
              clearInterval(check);
              void stopping.then(resolve);
            }
          }, 50);
        });
        app.logger.info('worker stopped');
      });
    });
}
