import { spawn } from 'node:child_process';
import { z } from 'zod';
import { definePipeline, type HandlerContext, type PipelineDefinition } from '../../core/pipeline.js';

export const commandParams = z.object({
  argv: z.array(z.string().min(1)).min(1, 'give the program and its arguments, e.g. ["python3", "train.py"]'),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});
export type CommandParams = z.infer<typeof commandParams>;

/**
 * Runs a program as a child process. Its stdout and stderr go into the attempt's output tail;
 * an exit code other than 0 (or death by a signal) fails the attempt. When the attempt is
 * aborted (timeout, cancel, shutdown) the child gets SIGTERM, then SIGKILL after 5 s.
 * The child inherits the worker's environment plus `env`; nothing of it is logged.
 */
export async function runCommand(ctx: HandlerContext<unknown>, spec: CommandParams): Promise<{ exit_code: number }> {
  const [program, ...args] = spec.argv;
  ctx.log.info({ program, cwd: spec.cwd }, 'starting command');
  return new Promise((resolve, reject) => {
    const child = spawn(program!, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => ctx.output(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => ctx.output(chunk));
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
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

export const command = definePipeline({
  domain: 'ops',
  name: 'command',
  description: 'Runs params.argv as a child process; non-zero exit fails the attempt.',
  params: commandParams,
  handler: (ctx) => runCommand(ctx, ctx.params),
});

/** A config-declared command pipeline: the argv is fixed by config; params may add env. */
export function commandPipeline(domain: string, name: string, spec: CommandParams, description?: string): PipelineDefinition {
  return definePipeline({
    domain,
    name,
    description: description ?? `Runs ${spec.argv.join(' ')}`,
    params: z.object({ env: z.record(z.string(), z.string()).optional() }).passthrough(),
    handler: (ctx) => runCommand(ctx, { ...spec, env: { ...spec.env, ...ctx.params.env } }),
  });
}
