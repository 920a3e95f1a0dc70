import { main } from '../../src/cli/main.js';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

let running = false;

/**
 * Runs the real CLI (`main`, commander parsing, the app, the store) inside the test worker,
 * capturing what it writes through process.stdout/stderr and the exit code it sets; a child
 * process costs seconds of TypeScript loading per call, this costs milliseconds. Logs go to
 * fd 2 through pino and are not captured: tests of log output use a child process. `env`
 * entries are set for the call and restored after (undefined removes one).
 */
export async function cliInProcess(argv: readonly string[], env: Record<string, string | undefined> = {}): Promise<InProcessResult> {
  if (running) throw new Error('cliInProcess: one call at a time (it captures process.stdout)');
  running = true;
  const out: string[] = [];
  const err: string[] = [];
  const saved = { out: process.stdout.write, err: process.stderr.write, code: process.exitCode };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const listeners = process.stdout.listeners('error');
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array) => (sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')), true)) as typeof process.stdout.write;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.exitCode = undefined;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    await main(['node', 'sluice', ...argv]);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = saved.code;
    // main() adds an EPIPE handler per call; drop it so repeated calls do not pile up.
    for (const l of process.stdout.listeners('error')) if (!listeners.includes(l)) process.stdout.off('error', l as (...a: unknown[]) => void);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    running = false;
  }
}
