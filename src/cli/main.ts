import { Command } from 'commander';
import { addGlobalOptions } from './context.js';
import { registerApi } from './commands/api.js';
import { registerBackfill } from './commands/backfill.js';
import { registerData } from './commands/data.js';
import { registerEnqueue } from './commands/enqueue.js';
import { registerManifest } from './commands/manifest.js';
import { registerFinra } from './commands/finra.js';
import { registerInit } from './commands/init.js';
import { registerPrices } from './commands/prices.js';
import { registerScheduler } from './commands/scheduler.js';
import { registerScheduleControls } from './commands/schedule-controls.js';
import { registerRun } from './commands/run.js';
import { registerStart } from './commands/start.js';
import { registerStatus } from './commands/status.js';
import { registerWork } from './commands/work.js';
import { registerWorker } from './commands/worker.js';
import { registerFred } from './commands/fred.js';
import { registerMatrix } from './commands/matrix.js';
import { registerAlerts } from './commands/alerts.js';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Scheduler, durable work queue and tracker for market-data pipelines')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  addGlobalOptions(program);
  registerInit(program);
  registerStart(program);
  registerApi(program);
  registerWorker(program);
  registerEnqueue(program);
  registerRun(program);
  registerWork(program);
  registerStatus(program);
  registerScheduler(program);
  registerScheduleControls(program);
  registerBackfill(program);
  registerFinra(program);
  registerPrices(program);
  registerFred(program);
  registerMatrix(program);
  registerData(program);
  registerManifest(program);
  registerAlerts(program);
  // Every subcommand inherits the error behaviour: throw instead of process.exit, so
  // main() decides the exit code and resources are closed.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/** The CLI entry point: loads only the command asked for (see entry.ts). */
export { main } from './entry.js';
