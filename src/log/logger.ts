import pino from 'pino';
import type { Logger } from '../core/logger.js';
import { prettyDestination, wantsColour, type LogFormat } from './pretty.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Structured JSON logs on stderr, so `--json` output on stdout stays one clean document.
 * Secret-looking fields are redacted wherever they appear in a log object.
 */
export function createLogger(level: LogLevel = 'info', destination: number | NodeJS.WritableStream = 2, format: LogFormat = 'json'): pino.Logger & Logger {
  // Pretty lines for people at a terminal: the same records, re-rendered on stderr.
  const out = format === 'pretty' && destination === 2 ? prettyDestination(process.stderr, wantsColour(process.stderr)) : format === 'pretty' && typeof destination !== 'number' ? prettyDestination(destination, false) : undefined;
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['*.password', '*.token', '*.api_key', '*.apikey', '*.authorization', 'headers.authorization', 'database_url', '*.database_url'],
        censor: '[redacted]',
      },
      serializers: { err: pino.stdSerializers.err },
    },
    out ?? (typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination),
  ) as pino.Logger & Logger;
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
