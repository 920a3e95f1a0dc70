import { isIP } from 'node:net';
import { SluiceError } from '../core/errors.js';

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Refuses to serve the API beyond this machine without a token: anyone who can reach the
 * port could enqueue, retry, cancel and trigger schedules. Loopback needs no token (the
 * default); any other address needs SLUICE_API_TOKEN, or `--insecure` to say it is meant
 * (e.g. behind a proxy that authenticates, on a private network).
 */
export function checkBind(host: string, token: string | undefined, insecure: boolean): void {
  if (isLoopbackHost(host) || (token !== undefined && token !== '') || insecure) return;
  throw new SluiceError(
    `refusing to serve the API on ${host} without a token: anyone who can reach it could enqueue and cancel work; set SLUICE_API_TOKEN, bind to 127.0.0.1, or pass --insecure if another layer guards it`,
    'insecure_bind',
  );
}
