import { PermanentError, ValidationError } from '../core/errors.js';
import type { AttemptAbort } from './attempt-abort.js';
import type { PipelineRegistry, RegisteredPipeline } from './registry.js';

/** Resolves with the handler's value, or rejects once the signal aborts and the handler
 * has either settled or had `graceMs` to notice. A handler that ignores its signal cannot
 * hold a slot (or a shutdown) hostage; its promise is left to finish in the background. */
export function untilAborted<T>(work: Promise<T>, abort: AttemptAbort, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let abortedAt = 0;
    abort.onAbort(() => {
      abortedAt = Date.now();
      const t = setTimeout(() => reject(abort.reason), graceMs);
      work.then(
        () => {
          clearTimeout(t);
          reject(abort.reason);
        },
        () => {
          clearTimeout(t);
          reject(abort.reason);
        },
      );
    });
    work.then(
      (v) => {
        if (!abortedAt) {
          abort.offAbort();
          resolve(v);
        }
      },
      (e) => {
        if (!abortedAt) {
          abort.offAbort();
          reject(e);
        }
      },
    );
  });
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * An item's params checked again before it runs (it may predate the current config, or have
 * been written behind the engine's back): a path outside the data roots or a host not
 * allowed must not run. Bad params do not fix themselves, so the attempt fails for good
 * (retry it by hand after fixing the config).
 */
export function paramsForRun(registry: PipelineRegistry, registered: RegisteredPipeline, params: unknown): Record<string, unknown> {
  try {
    return registry.validateParams(registered, params);
  } catch (err) {
    if (err instanceof ValidationError) throw new PermanentError(err.message);
    throw err;
  }
}
