import type { FastifyInstance } from 'fastify';
import { SluiceError } from '../core/errors.js';

/**
 * `server.listen`, with the failures a user causes at start (port taken, port not allowed,
 * host not on this machine) turned into one line that names the address and the fix,
 * instead of Node's stack trace.
 */
export async function listenOrExplain(server: FastifyInstance, port: number, host: string): Promise<void> {
  try {
    await server.listen({ port, host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const where = `${host}:${port}`;
    if (code === 'EADDRINUSE')
      throw new SluiceError(
        `cannot listen on ${where}: the port is already in use; stop the program using it or pick another port with --port (or api.port)`,
        'port_in_use',
      );
    if (code === 'EACCES')
      throw new SluiceError(
        `cannot listen on ${where}: permission denied (ports below 1024 need privileges); pick a port from 1024 to 65535 with --port`,
        'port_denied',
      );
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      throw new SluiceError(
        `cannot listen on ${where}: host ${JSON.stringify(host)} is not an address of this machine; use --host 127.0.0.1 (or api.host)`,
        'bad_host',
      );
    throw err;
  }
}
