import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/core/pipeline.js';

/** A real pino logger at debug level whose lines are kept in memory for assertions. */
export function captureLogger(): { log: Logger; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = pino({ level: 'debug' }, stream) as unknown as Logger;
  return {
    log,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export function elapsed(start: number): number {
  return performance.now() - start;
}
