import { ValidationError } from '../core/errors.js';

/**
 * Logs for people: one line per event, `HH:MM:SS.mmm LEVEL message key=value …`, the level
 * coloured when colour is on. pino still builds the JSON record (redaction, serializers);
 * this stream only re-renders it, so both formats carry the same fields.
 */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
/** Fields every record carries that the line shows in its own place, or not at all. */
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v && typeof v === 'object') {
    const err = v as { type?: string; message?: string };
    if (typeof err.message === 'string' && ('stack' in v || 'type' in v)) return JSON.stringify(`${err.type ?? 'Error'}: ${err.message}`);
    return JSON.stringify(v);
  }
  return String(v);
}

/** One JSON record (pino's line) as one line of text; a line that is not JSON passes through. */
export function formatRecord(line: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const [label, tint] = LEVELS[Number(rec.level)] ?? ['LOG  ', ''];
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rec)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined)
    .map(([k, v]) => (colour ? `${DIM}${k}=${RESET}${value(v)}` : `${k}=${value(v)}`))
    .join(' ');
  const msg = typeof rec.msg === 'string' ? rec.msg.replace(/\s*\n\s*/g, ' ') : '';
  const head = colour ? `${DIM}${time}${RESET} ${tint}${label}${RESET}` : `${time} ${label}`;
  return `${head} ${msg}${fields ? `  ${fields}` : ''}\n`;
}

/** A pino destination writing pretty lines to `out` (stderr by default). */
export function prettyDestination(out: NodeJS.WritableStream, colour: boolean): { write(chunk: string): boolean } {
  return {
    write(chunk: string) {
      let text = '';
      for (const line of chunk.split('\n')) if (line.trim() !== '') text += formatRecord(line, colour);
      return out.write(text);
    },
  };
}

/** Colour on a terminal, unless NO_COLOR is set; FORCE_COLOR turns it on anywhere. */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** `--log-format` or SLUICE_LOG_FORMAT, else pretty on a terminal and JSON otherwise. */
export function resolveLogFormat(explicit: string | undefined, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const chosen = explicit ?? (env.SLUICE_LOG_FORMAT || undefined);
  if (chosen !== undefined) {
    if (!(LOG_FORMATS as readonly string[]).includes(chosen)) {
      throw new ValidationError(explicit !== undefined ? '--log-format' : 'SLUICE_LOG_FORMAT', chosen, 'be one of json, pretty');
    }
    return chosen as LogFormat;
  }
  return stream.isTTY === true ? 'pretty' : 'json';
}
