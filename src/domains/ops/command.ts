import { spawn } from 'node:child_process';
import type { HandlerContext } from '../../core/pipeline.js';

/** What a command pipeline runs, fixed by the config: never taken from params. */
export interface CommandSpec {
  /** The program and its arguments; entries that are exactly `{key}` are placeholders. */
  argv: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
}

/**
 * Runs a program as a child process. Its stdout and stderr go into the attempt's output tail;
 * an exit code other than 0 (or death by a signal) fails the attempt. When the attempt is
 * aborted (timeout, cancel, shutdown) the child's whole process group gets SIGTERM, then
 * SIGKILL after 5 s.
 * The child inherits the worker's environment, plus `SLUICE_PIPELINE`, `SLUICE_PARTITION_KEY`,
 * `SLUICE_PARTITION` (JSON), `SLUICE_PARTITION_<KEY>` (one per key, upper case), `SLUICE_PARAMS` (JSON), `SLUICE_ITEM_ID`, `SLUICE_ATTEMPT` (the attempt's number in the item's history) and `SLUICE_BUDGET_ATTEMPT` (its number in the current retry budget), plus the
 * config's `env`; nothing of it is logged.
 */
export async function runCommand(ctx: HandlerContext<unknown>, spec: CommandSpec): Promise<{ exit_code: number }> {
  const [program, ...args] = spec.argv as string[];
  ctx.log.info({ program, cwd: spec.cwd }, 'starting command');
  return new Promise((resolve, reject) => {
    const child = spawn(program!, args, {
      cwd: spec.cwd,
      // The child must be able to tell which slice it works on: without these a config
      // command pipeline scheduled over partitions (dates, tiers) ran blind, identical for
      // every partition. The config's `env` still wins.
      env: { ...process.env, ...itemEnv(ctx), ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so an abort can signal everything the command started. Killing
      // only the direct child left grandchildren running (`sh -c 'sleep 60; …'`): they
      // kept the output pipes open, so a 300 ms timeout or a cancel took effect only when
      // they finished (or after the 5 s abort grace), and they outlived the attempt.
      detached: process.platform !== 'win32',
    });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        child.kill(sig); // the group is already gone; make sure the child is too
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => ctx.output(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => ctx.output(chunk));
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), 5_000);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      ctx.signal.removeEventListener('abort', onAbort);
      reject(new Error(`could not start ${JSON.stringify(program)}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      if (ctx.signal.aborted) return reject(ctx.signal.reason);
      if (code === 0) return resolve({ exit_code: 0 });
      reject(new Error(signal ? `${program} was killed by ${signal}` : `${program} exited with code ${code}`));
    });
  });
}

/** `SLUICE_*` variables describing the work item, for the child process. */
function itemEnv(ctx: HandlerContext<unknown>): Record<string, string> {
  return {
    SLUICE_PIPELINE: `${ctx.domain}.${ctx.pipeline}`,
    SLUICE_PARTITION_KEY: ctx.partitionKey,
    SLUICE_PARTITION: JSON.stringify(ctx.partition),
    // One variable per key (upper-cased): SLUICE_PARTITION_DATE=2026-01-05.
    ...Object.fromEntries(Object.entries(ctx.partition).map(([k, v]) => [`SLUICE_PARTITION_${k.toUpperCase()}`, v])),
    SLUICE_PARAMS: JSON.stringify(ctx.params ?? {}),
    SLUICE_ITEM_ID: String(ctx.itemId),
    // The number the item page and `work show` list the attempt under; the budget count
    // (which restarts on a manual retry) is SLUICE_BUDGET_ATTEMPT.
    SLUICE_ATTEMPT: String(ctx.attemptNo),
    SLUICE_BUDGET_ATTEMPT: String(ctx.attempt),
  };
}
