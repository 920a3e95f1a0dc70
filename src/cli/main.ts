import { Command, CommanderError } from 'commander';
import { addGlobalOptions, EXIT_USAGE, reportError } from './context.js';
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

export async function main(argv: string[]): Promise<void> {
  // `sluice work list | head` closes the pipe before we finish writing. That is the reader's
  // choice, not a failure: without this handler Node crashed with an unhandled EPIPE stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "errors" exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    process.exitCode = reportError(err);
  }
}
