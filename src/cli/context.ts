import path from 'node:path';
import { Option, type Command } from 'commander';
import { SluiceError, ValidationError } from '../core/errors.js';
import type { SluiceApp } from '../app/create-app.js';
import type { AppCore, AppOptions } from '../app/open-app.js';
import type { LogLevel } from '../log/logger.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  config?: string;
  db?: string;
  logLevel?: LogLevel;
  logFormat?: string;
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('-c, --config <file>', 'config file (JSON, YAML or TS); default ./sluice.config.json, else the bundled demo')
    .option('--db <url>', 'database: sqlite:PATH or postgres://…; overrides the config and SLUICE_DATABASE_URL')
    .addOption(
      new Option(
        '--log-level <level>',
        `log level (logs go to stderr): ${LOG_LEVELS.join(', ')}, or the scheduler ops guide's DEBUG, INFO, WARNING, ERROR`,
      ).argParser(parseLogLevel),
    )
    .addOption(
      new Option('--log-format <format>', 'log lines as JSON or pretty text (default: pretty on a terminal, JSON otherwise; SLUICE_LOG_FORMAT)').choices([
        'json',
        'pretty',
      ]),
    );
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Sluice's pino levels, or the guide's Python names in any case (`WARNING` is `warn`). */
export function parseLogLevel(value: string): LogLevel {
  const lower = value.toLowerCase();
  const level = lower === 'warning' ? 'warn' : lower === 'critical' ? 'fatal' : lower;
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new ValidationError('--log-level', value, `be one of DEBUG, INFO, WARNING, ERROR (or ${LOG_LEVELS.join(', ')})`);
}

/**
 * The guide's `DATABASE_URL`: a postgres:// (or postgresql://) URL, a `sqlite:` URL
 * (SQLAlchemy's `sqlite:///file.db` too) or a plain SQLite file path, relative to the working
 * directory. Anything else is an error naming the variable.
 */
export function databaseFromEnv(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^postgres(ql)?:\/\//.test(value)) return value;
  let file: string;
  if (value.startsWith('sqlite:///')) file = value.slice('sqlite:///'.length);
  else if (value.startsWith('sqlite:')) file = value.slice('sqlite:'.length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new ValidationError('DATABASE_URL', value, 'be a postgres:// URL, sqlite:PATH or a SQLite file path');
  else file = value;
  return file === ':memory:' ? 'sqlite::memory:' : `sqlite:${path.resolve(file)}`;
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

let oneShot = false;
/** This process runs one command and exits (not a worker, scheduler or server). */
export function markOneShot(): void {
  oneShot = true;
}

interface AppDefaults {
  logLevel?: LogLevel;
  databaseUrlEnv?: boolean;
}

/** Opens the app for one command and always closes it, whatever the command does. */
export async function withApp<T>(command: Command, fn: (app: SluiceApp) => Promise<T>, defaults: AppDefaults = {}): Promise<T> {
  // Loaded on first use: the app pulls in every domain, the stores and the data layer,
  // which `sluice --help` (and commands that fail at argument parsing) never need.
  const { createApp } = await import('../app/create-app.js');
  return withOpened(command, createApp, fn, defaults);
}

/**
 * For commands that only read the queue (`status`, `pipelines`): the same config checks and
 * errors as `withApp`, without loading the worker, scheduler and data layer (open-app.ts).
 */
export async function withAppCore<T>(command: Command, fn: (app: AppCore) => Promise<T>, defaults: AppDefaults = {}): Promise<T> {
  const { openApp } = await import('../app/open-app.js');
  return withOpened(command, openApp, fn, defaults);
}

async function withOpened<A extends AppCore, T>(
  command: Command,
  open: (options: AppOptions) => Promise<A>,
  fn: (app: A) => Promise<T>,
  defaults: AppDefaults,
): Promise<T> {
  const g = globalsOf(command);
  // The batch commands take the guide's DATABASE_URL when neither --db nor SLUICE_DATABASE_URL says.
  const database = g.db ?? (defaults.databaseUrlEnv && !process.env.SLUICE_DATABASE_URL ? databaseFromEnv(process.env.DATABASE_URL) : undefined);
  if (oneShot) {
    // zod compiles a fast parser for each object schema on first use, which pays off only
    // over many parses; a command that parses the config once and exits is faster without.
    (await import('zod')).z.config({ jitless: true });
  }
  const app = await open({ configPath: g.config, database, logLevel: g.logLevel ?? defaults.logLevel, logFormat: g.logFormat });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** What the help of `run` and the batch commands says of their output (also in entry.ts's lazy command table). */
export const RUN_RESULT_HELP = 'prints a run result (exit 0 success/dry-run, 1 failure, 2 partial)';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as an aligned text table for humans. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v).replace(/\s+/g, ' ').slice(0, 80));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns)}\n${rows.map((r) => line(columns.map((c) => cell(r[c])))).join('\n')}\n`);
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new ValidationError(name, value, 'be an integer');
    return n;
  };
}

/** An integer option within [min, max], e.g. `--limit` (1..10000): -1 or 0 is an error, not "all". */
export function parseBoundedIntOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(name, value, `be an integer from ${min} to ${max}`);
    return n;
  };
}

/** A `--domain` / `--pipeline` filter must name something registered: a typo would
 * otherwise match nothing and look like "nothing to do". */
export function checkRegisteredFilter(app: AppCore, filter: { domain?: string; pipeline?: { domain: string; pipeline: string } | null }): void {
  const keys = app.registry.keys();
  if (filter.pipeline) {
    const key = `${filter.pipeline.domain}.${filter.pipeline.pipeline}`;
    if (!keys.includes(key)) throw new ValidationError('--pipeline', key, `name a registered pipeline (known: ${[...keys].sort().join(', ')})`);
  }
  if (filter.domain !== undefined) {
    const domains = [...new Set(keys.map((k) => k.slice(0, k.lastIndexOf('.'))))].sort();
    if (!domains.includes(filter.domain)) throw new ValidationError('--domain', filter.domain, `name a registered domain (known: ${domains.join(', ')})`);
  }
}

export function parseJsonOption(name: string) {
  return (value: string): unknown => {
    try {
      return JSON.parse(value);
    } catch (err) {
      throw new ValidationError(name, value, `be valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Exit codes. A run that failed (or a command that could not do its job) exits 1; a run that
 * partly failed 2 (see run-result). Bad input of any kind (an unknown flag, a bad argument,
 * a config file that does not validate) exits 64, EX_USAGE from sysexits.h, so a script can
 * tell "you called it wrong" from "it ran and failed".
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 64;

/** One line on stderr: what, where, which rule. No stack for user errors. Returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof SluiceError) {
    process.stderr.write(`sluice: error: ${err.message}\n`);
    return err.code === 'invalid_input' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = err as { code?: string; message?: string; stack?: string };
  if (e?.code?.startsWith?.('commander.')) return EXIT_USAGE;
  process.stderr.write(`sluice: unexpected error: ${e?.stack ?? String(err)}\n`);
  return 1;
}

/** An http(s) base URL from a flag, or a clear error naming the flag. */
export function parseHttpUrl(value: string, flag: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    /* fall through to the error */
  }
  throw new ValidationError(flag, value, 'be an http:// or https:// URL');
}
