import { Option, type Command, type OptionValues } from 'commander';
import { ValidationError } from '../core/errors.js';
import { parsePartitionArg, type Partition } from '../core/partition.js';
import { splitPipelineKey } from '../core/work-item.js';
import type { SluiceApp } from '../app/create-app.js';
import type { AppCore } from '../app/open-app.js';
import { collect, parseIntOption, parseJsonOption, printJson, RUN_RESULT_HELP, withApp, withAppCore } from './context.js';

/**
 * Flag groups that several commands declare, each declared here once so the same flag means
 * the same thing (and parses the same way) wherever it appears.
 */

/** `<pipeline> -p … --params … --priority …`: which items `enqueue` and `run` address. */
export function addItemTargetOptions(command: Command, help: { partition: string; priority: string }): Command {
  return command
    .argument('<pipeline>', 'domain.name, e.g. ops.noop or finra.otc_transparency.ingest_week')
    .option('-p, --partition <k=v,...>', help.partition, collect, [])
    .option('--params <json>', 'handler params as a JSON object', parseJsonOption('--params'))
    .option('--priority <n>', help.priority, parseIntOption('--priority'));
}

/** The `-p` values parsed; none given addresses the pipeline's one unpartitioned item. */
export function partitionsOf(opts: { partition: string[] }): Partition[] {
  return opts.partition.length ? opts.partition.map((p) => parsePartitionArg(p)) : [{}];
}

/** A batch command (`finra`, `prices`, `fred`): `what` it does, run now in this process, reporting a run result. */
export function addBatchCommand(program: Command, name: string, what: string): Command {
  return program.command(name).description(`${what} now, in this process; ${RUN_RESULT_HELP}`);
}

/** A `--pipeline domain.name` flag split into its parts (null when not given). */
export function pipelineFilterOf(flag: string | undefined): { domain: string; pipeline: string } | null {
  if (!flag) return null;
  const pipeline = splitPipelineKey(flag);
  if (!pipeline) throw new ValidationError('--pipeline', flag, 'be domain.name');
  return pipeline;
}

/** `--date | --from --to`: the XNYS sessions a daily batch (prices, FRED, the matrix) covers. */
export function addSessionDateOptions(command: Command): Command {
  return command
    .option('--date <date>', 'one XNYS session (YYYY-MM-DD); default: the latest session that has closed')
    .option('--from <date>', 'first date of a range (with --to); every XNYS session in it')
    .option('--to <date>', 'last date of the range, inclusive');
}

/** `--mode --force --fail-fast --json`: how an inline run (`run` and the batch commands) goes and reports. */
export function addRunModeOptions(command: Command, help: { force: string; failFast?: string }): Command {
  return command
    .addOption(new Option('--mode <mode>', 'run, or dry-run to only show what would run').choices(['run', 'dry-run']).default('run'))
    .option('--force', help.force)
    .option('--fail-fast', help.failFast ?? 'stop at the first failed partition')
    .option('--json', 'print the run result JSON');
}

/** The parsed `addSessionDateOptions` flags. */
export function sessionDatesOf(opts: { date?: string; from?: string; to?: string }): { date?: string; from?: string; to?: string } {
  return { date: opts.date, from: opts.from, to: opts.to };
}

export interface RunMode {
  dryRun: boolean;
  force: boolean;
  failFast: boolean;
}

/** The parsed `addRunModeOptions` flags. */
export function runModeOf(opts: { mode?: string; force?: boolean; failFast?: boolean }): RunMode {
  return { dryRun: opts.mode === 'dry-run', force: opts.force === true, failFast: opts.failFast === true };
}

/**
 * A read-only command's `--json` flag and action: open the app (logging at warn, so stdout
 * stays data), load, and print the data as JSON with `--json`, else as text for people.
 * `load` gets the parsed options and the command's arguments.
 */
export function reportAction<T>(
  command: Command,
  load: (app: SluiceApp, opts: OptionValues, args: unknown[]) => Promise<T>,
  printText: (data: T) => void,
): Command {
  return reportWith(withApp, command, load, printText);
}

/** `reportAction` for commands that only read the queue: opens the app core (open-app.ts), a faster start. */
export function reportCoreAction<T>(
  command: Command,
  load: (app: AppCore, opts: OptionValues, args: unknown[]) => Promise<T>,
  printText: (data: T) => void,
): Command {
  return reportWith(withAppCore, command, load, printText);
}

function reportWith<A, T>(
  open: (command: Command, fn: (app: A) => Promise<void>, defaults: { logLevel: 'warn' }) => Promise<void>,
  command: Command,
  load: (app: A, opts: OptionValues, args: unknown[]) => Promise<T>,
  printText: (data: T) => void,
): Command {
  return command.option('--json', 'print JSON').action(async (...received: unknown[]) => {
    const cmd = received.at(-1) as Command;
    const opts = cmd.opts();
    await open(
      cmd,
      async (app) => {
        const data = await load(app, opts, cmd.processedArgs);
        // optsWithGlobals: under a parent that declares `--json` too (`backfill list --json`),
        // commander gives the flag to the parent, so this command's own opts never see it.
        if (cmd.optsWithGlobals().json) printJson(data);
        else printText(data);
      },
      { logLevel: 'warn' },
    );
  });
}
