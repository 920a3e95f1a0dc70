import { createRequire } from 'node:module';
import type pino from 'pino';
import type { Logger } from '../core/logger.js';
import { prettyDestination, wantsColour, type LogFormat } from './pretty.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const PINO_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

// pino (and its thirty-odd modules) is required when a logger is first made, not when this
// module is imported: `sluice status` never logs, and loading pino was a sixth of its start.
const requirePino = (): typeof pino => createRequire(import.meta.url)('pino') as typeof pino;

/**
 * Structured JSON logs on stderr, so `--json` output on stdout stays one clean document.
 * Secret-looking fields are redacted wherever they appear in a log object.
 */
export function createLogger(level: LogLevel = 'info', destination: number | NodeJS.WritableStream = 2, format: LogFormat = 'json'): pino.Logger & Logger {
  // Pretty lines for people at a terminal: the same records, re-rendered on stderr.
  const out =
    format === 'pretty' && destination === 2
      ? prettyDestination(process.stderr, wantsColour(process.stderr))
      : format === 'pretty' && typeof destination !== 'number'
        ? prettyDestination(destination, false)
        : undefined;
  const pinoFn = requirePino();
  return pinoFn(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['*.password', '*.token', '*.api_key', '*.apikey', '*.authorization', 'headers.authorization', 'database_url', '*.database_url'],
        censor: '[redacted]',
      },
      serializers: { err: pinoFn.stdSerializers.err },
    },
    out ?? (typeof destination === 'number' ? pinoFn.destination({ fd: destination, sync: true }) : destination),
  ) as pino.Logger & Logger;
}

/**
 * A logger made on first call (then the same one). A level pino would refuse makes it now,
 * so a bad SLUICE_LOG_LEVEL fails at start exactly as with `createLogger`.
 */
export function lazyLogger(level: LogLevel = 'info', destination: number | NodeJS.WritableStream = 2, format: LogFormat = 'json'): () => pino.Logger & Logger {
  let made: (pino.Logger & Logger) | undefined;
  const make = () => (made ??= createLogger(level, destination, format));
  if (!PINO_LEVELS.includes(level)) make();
  return make;
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
