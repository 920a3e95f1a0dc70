import { AsyncLocalStorage } from 'node:async_hooks';
import type { FinraSourceParams } from './source.js';

/**
 * Options one `sluice finra` invocation applies to every handler it runs inline. A work
 * item's params are fixed when it is first enqueued, so a later `sluice finra --data-dir X
 * --force` cannot change them; instead the command runs its stages inside this context and
 * the handlers read it first. Handlers run by a worker pool elsewhere never see it.
 */
export interface FinraRunOptions {
  /** Source from the command line; paths already absolute. */
  source?: FinraSourceParams;
  /** Land even when the source bytes (or inputs) are unchanged. */
  force?: boolean;
}

const storage = new AsyncLocalStorage<FinraRunOptions>();

export function runWithFinraOptions<T>(options: FinraRunOptions, fn: () => Promise<T>): Promise<T> {
  return storage.run(options, fn);
}

export function currentFinraRunOptions(): FinraRunOptions | undefined {
  return storage.getStore();
}
