import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** host:pid:random — readable in `work show`, unique across restarts of the same pid. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
