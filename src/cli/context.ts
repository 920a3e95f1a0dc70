import { Option, type Command } from 'commander';
import { SluiceError, ValidationError } from '../core/errors.js';
import type { SluiceApp } from '../app/create-app.js';
import type { LogLevel } from '../log/logger.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  config?: string;
  db?: string;
  logLevel?: LogLevel;
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('-c, --config <file>', 'config file (JSON, YAML or TS); default ./sluice.config.json, else the bundled demo')
    .option('--db <url>', 'database: sqlite:PATH or postgres://…; overrides the config and SLUICE_DATABASE_URL')
    .addOption(new Option('--log-level <level>', 'log level (logs go to stderr)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']));
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

let oneShot = false;
/** This process runs one command and exits (not a worker, scheduler or server). */
export function markOneShot(): void {
  oneShot = true;
}

/** Opens the app for one command and always closes it, whatever the command does. */
export async function withApp<T>(command: Command, fn: (app: SluiceApp) => Promise<T>, defaults: { logLevel?: LogLevel } = {}): Promise<T> {
  const g = globalsOf(command);
  // Loaded on first use: the app pulls in every domain, the stores and the data layer,
  // which `sluice --help` (and commands that fail at argument parsing) never need.
  const { createApp } = await import('../app/create-app.js');
  if (oneShot) {
    // zod compiles a fast parser for each object schema on first use, which pays off only
    // over many parses; a command that parses the config once and exits is faster without.
    (await import('zod')).z.config({ jitless: true });
  }
  const app = await createApp({ configPath: g.config, database: g.db, logLevel: g.logLevel ?? defaults.logLevel });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

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
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
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
export function checkRegisteredFilter(app: SluiceApp, filter: { domain?: string; pipeline?: { domain: string; pipeline: string } | null }): void {
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

/**
 * Checks a batch command's source flags (`--data-dir`, `--base-url`) the way an item's params
 * are checked, because they are recorded on the items it enqueues: a directory must be inside
 * the config's `access.data_roots`, a URL on an allowed host. The error names the flag.
 */
export function checkSourceFlags(app: SluiceApp, pipeline: string, source: Record<string, unknown> | undefined): void {
  if (!source) return;
  const flags: Record<string, string> = { data_dir: '--data-dir', base_url: '--base-url' };
  try {
    app.registry.validateParams(app.registry.require(pipeline), source);
  } catch (err) {
    const key = err instanceof ValidationError ? /^params\.(\w+)$/.exec(err.field)?.[1] : undefined;
    if (err instanceof ValidationError && key && flags[key]) throw new ValidationError(flags[key]!, err.value, err.rule);
    throw err;
  }
}
