import { Command, CommanderError, Help } from 'commander';
import { addGlobalOptions, EXIT_USAGE, markOneShot, reportError, RUN_RESULT_HELP as RUN_RESULT } from './context.js';

/**
 * The CLI as `sluice` runs it: only the command asked for is loaded.
 *
 * Loading every command module (and through them every domain, fastify, pg, the Parquet
 * writer, …) cost `sluice --help` and `sluice status` about 0.6 s of CPU before they did
 * anything. Here the top-level commands are first known by name, usage term and description
 * only (the table below); the module of the command on the command line is imported and
 * registered for real, so its options, arguments, help and errors are exactly those of
 * `buildProgram()` in main.ts. `test/cli/lazy-entry.test.ts` checks this table against
 * that program, so a command added there and not here fails a test.
 */
interface TopLevel {
  name: string;
  /** As commander prints it in the command list, e.g. `enqueue [options] <pipeline>`. */
  term: string;
  description: string;
  /** Other names the command answers to (`matrix` is also `features`). */
  aliases?: readonly string[];
}

interface CommandModule {
  commands: readonly TopLevel[];
  /** The module's register functions, in main.ts's order. */
  load: () => Promise<((program: Command) => void)[]>;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    commands: [
      {
        name: 'init',
        term: 'init [dir]',
        description: 'Write a starter project: sluice.config.ts with a TypeScript pipeline and a Python pipeline that lands rows after it',
      },
    ],
    load: async () => [(await import('./commands/init.js')).registerInit],
  },
  {
    commands: [{ name: 'start', term: 'start [options]', description: 'Run everything in one process: workers, scheduler, API and status page on 127.0.0.1' }],
    load: async () => [(await import('./commands/start.js')).registerStart],
  },
  {
    commands: [
      {
        name: 'api',
        term: 'api [options]',
        description: 'Serve the REST API (/api/v1, OpenAPI at /docs), the dashboard and /metrics on 127.0.0.1, without workers',
      },
    ],
    load: async () => [(await import('./commands/api.js')).registerApi],
  },
  {
    commands: [{ name: 'worker', term: 'worker [options]', description: 'Run a worker pool that claims and runs work items until stopped (SIGINT/SIGTERM)' }],
    load: async () => [(await import('./commands/worker.js')).registerWorker],
  },
  {
    commands: [
      {
        name: 'enqueue',
        term: 'enqueue [options] <pipeline>',
        description: 'Add a work item (idempotent: an existing (pipeline, partition) is reported, not duplicated)',
      },
    ],
    load: async () => [(await import('./commands/enqueue.js')).registerEnqueue],
  },
  {
    commands: [
      {
        name: 'run',
        term: 'run [options] <pipeline>',
        description: 'Run a pipeline now, in this process, and print a run result (exit 0 success/dry-run, 1 failure, 2 partial)',
      },
    ],
    load: async () => [(await import('./commands/run.js')).registerRun],
  },
  {
    commands: [{ name: 'work', term: 'work', description: 'Inspect and operate on work items' }],
    load: async () => [(await import('./commands/work.js')).registerWork],
  },
  {
    commands: [
      { name: 'status', term: 'status [options]', description: 'Counts of work items by state and pipeline' },
      { name: 'pipelines', term: 'pipelines [options]', description: 'List the pipelines this config knows' },
    ],
    load: async () => [(await import('./commands/status.js')).registerStatus],
  },
  {
    commands: [
      { name: 'scheduler', term: 'scheduler', description: 'Run only the scheduler: fire schedule ticks into the queue (any number may run; one leads)' },
      { name: 'schedule', term: 'schedule', description: 'Inspect schedules and their fire times' },
      { name: 'calendar', term: 'calendar', description: 'Trading calendars' },
    ],
    load: async () => [(await import('./commands/scheduler.js')).registerScheduler, (await import('./commands/schedule-controls.js')).registerScheduleControls],
  },
  {
    commands: [
      {
        name: 'backfill',
        term: 'backfill [options] <pipeline>',
        description:
          'Create a tracked backfill of a pipeline over a range of partitions (priority -10 by default, below scheduled work); see also backfill status|list|cancel',
      },
    ],
    load: async () => [(await import('./commands/backfill.js')).registerBackfill],
  },
  {
    commands: [
      { name: 'finra', term: 'finra [options]', description: `Ingest, normalize and compute FINRA OTC transparency weeks now, in this process; ${RUN_RESULT}` },
    ],
    load: async () => [(await import('./commands/finra.js')).registerFinra],
  },
  {
    commands: [
      {
        name: 'prices',
        term: 'prices [options]',
        description: `Fetch and land daily OHLCV bars for symbols × XNYS sessions now, in this process; ${RUN_RESULT}`,
      },
    ],
    load: async () => [(await import('./commands/prices.js')).registerPrices],
  },
  {
    commands: [
      {
        name: 'fred',
        term: 'fred [options]',
        description: `Fetch and land FRED series buckets (fx, rates_curve, financial_conditions) for XNYS sessions now, in this process; ${RUN_RESULT}`,
      },
    ],
    load: async () => [(await import('./commands/fred.js')).registerFred],
  },
  {
    commands: [
      {
        name: 'matrix',
        aliases: ['features'],
        term: 'matrix|features [options]',
        description:
          'Build the features.daily_matrix (prices × FRED) for XNYS sessions now, in this process, and export it; a date whose inputs have not landed is blocked (exit 1 if all are)',
      },
    ],
    load: async () => [(await import('./commands/matrix.js')).registerMatrix],
  },
  {
    commands: [
      {
        name: 'data',
        term: 'data [options] <domain> <dataset>',
        description: 'Print the rows of a published dataset (latest captures, or as of an instant or capture)',
      },
    ],
    load: async () => [(await import('./commands/data.js')).registerData],
  },
  {
    commands: [
      {
        name: 'manifest',
        term: 'manifest [options]',
        description: 'Latest capture per (domain, partition, stage): row count, content hash, when; the answer to "is this ready?"',
      },
    ],
    load: async () => [(await import('./commands/manifest.js')).registerManifest],
  },
  {
    commands: [{ name: 'alerts', term: 'alerts', description: 'Alert webhooks (config "alerts")' }],
    load: async () => [(await import('./commands/alerts.js')).registerAlerts],
  },
];

/** Commands that keep running or parse many partitions and rows: zod keeps its JIT. */
const SERVICES = new Set(['start', 'api', 'worker', 'scheduler', 'run', 'backfill', 'finra', 'prices', 'fred', 'matrix', 'features']);

/** Global options that take a value (the next argument, unless written `--db=…`). */
const VALUE_OPTIONS = new Set(['-c', '--config', '--db', '--log-level', '--log-format']);

/** The top-level command an argv names (`sluice --db x status` -> `status`; `sluice help
 * work` -> `work`), or undefined (`sluice`, `sluice --help`). */
export function requestedCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    return a === 'help' ? (args[i + 1] ?? undefined) : a;
  }
  return undefined;
}

/** The program for one command line: the named command's module registered for real, the
 * others as placeholders that list the same way in `--help`. */
export async function buildProgramFor(argv: readonly string[]): Promise<Command> {
  const wanted = requestedCommand(argv.slice(2));
  if (wanted !== undefined && !SERVICES.has(wanted)) markOneShot();
  const terms = new Map<Command, string>();
  const program = new Command('sluice')
    .description('Scheduler, durable work queue and tracker for market-data pipelines')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const plain = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? plain.subcommandTerm(cmd) });
  addGlobalOptions(program);
  for (const mod of COMMAND_MODULES) {
    if (wanted !== undefined && mod.commands.some((c) => c.name === wanted || (c.aliases ?? []).includes(wanted))) {
      for (const register of await mod.load()) register(program);
      continue;
    }
    for (const c of mod.commands) {
      const placeholder = program
        .command(c.name)
        .aliases([...(c.aliases ?? [])])
        .description(c.description)
        .helpOption(false)
        .allowUnknownOption()
        .allowExcessArguments();
      // Not reached unless the command word was misread: then run it with every module.
      placeholder.action(async () => {
        const { buildProgram } = await import('./main.js');
        await buildProgram().parseAsync(argv as string[]);
      });
      terms.set(placeholder, c.term);
    }
  }
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
  try {
    const program = await buildProgramFor(argv);
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
