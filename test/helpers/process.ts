import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real `node bin/sluice.js …` child processes for end-to-end tests. Every child started here
 * is tracked so a failing test cannot leave a worker running: call `killStarted()` in
 * `afterEach`/`afterAll` (it kills only the children this helper spawned, by pid).
 */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SLUICE_BIN = path.join(REPO_ROOT, 'bin', 'sluice.js');

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  durationMs: number;
}

export interface SpawnOptions {
  cwd?: string;
  /** Added to (or, with `undefined` values, removed from) the inherited environment. */
  env?: Record<string, string | undefined>;
  /** SIGKILL the child if it has not exited by then (the result then has `signal: 'SIGKILL'`). */
  timeoutMs?: number;
}

const started = new Set<SluiceProcess>();

function childEnv(extra: SpawnOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The tests say which database and log level they use; the caller's shell must not.
  delete env.SLUICE_DATABASE_URL;
  delete env.SLUICE_LOG_LEVEL;
  delete env.SLUICE_API_TOKEN;
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A running `sluice` child with its output collected as it arrives. */
export class SluiceProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly startedAt = Date.now();
  readonly exited: Promise<ExitResult>;
  private exitResult: ExitResult | null = null;

  constructor(
    readonly args: readonly string[],
    options: SpawnOptions = {},
  ) {
    this.child = spawn(process.execPath, [SLUICE_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin.end();
    this.child.stdout.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    this.child.stderr.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    started.add(this);
    let killer: NodeJS.Timeout | undefined;
    if (options.timeoutMs !== undefined) killer = setTimeout(() => this.child.kill('SIGKILL'), options.timeoutMs);
    this.exited = new Promise<ExitResult>((resolve, reject) => {
      this.child.on('error', (err) => {
        clearTimeout(killer);
        started.delete(this);
        reject(err);
      });
      this.child.on('close', (code, signal) => {
        clearTimeout(killer);
        started.delete(this);
        this.exitResult = { code, signal, stdout: this.stdout, stderr: this.stderr, durationMs: Date.now() - this.startedAt };
        resolve(this.exitResult);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exitResult !== null;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /** Resolves with the first match of `pattern` in stderr (logs), polling the collected text. */
  async waitForStderr(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stderr.match(pattern);
      if (m) return m;
      if (this.hasExited) throw new Error(`process exited before stderr matched ${pattern}\nstderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for stderr to match ${pattern}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits for exit; fails (and SIGKILLs the child) if that takes longer than `timeoutMs`. */
  async waitExit(timeoutMs = 30_000): Promise<ExitResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill('SIGKILL');
        reject(new Error(`sluice ${this.args.join(' ')} did not exit within ${timeoutMs} ms\nstderr:\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export function startSluice(args: readonly string[], options: SpawnOptions = {}): SluiceProcess {
  return new SluiceProcess(args, options);
}

/** Runs `sluice ARGS…` to completion. */
export function runSluice(args: readonly string[], options: SpawnOptions = {}): Promise<ExitResult> {
  return new SluiceProcess(args, { timeoutMs: 30_000, ...options }).exited;
}

/** SIGKILLs every child this helper started that is still running. */
export async function killStarted(): Promise<void> {
  const live = [...started];
  for (const p of live) p.kill('SIGKILL');
  await Promise.allSettled(live.map((p) => p.exited));
}

/** Parses one JSON document from stdout, with the whole output in the error if it is not one. */
export function parseJsonOutput<T = unknown>(result: Pick<ExitResult, 'stdout' | 'stderr'>): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not one JSON document (${String(err)})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** pino JSON log lines from a process's stderr (non-JSON lines are skipped). */
export function logLines(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* partial line */
    }
  }
  return out;
}

/** The worker id a `sluice worker` process logged at start. */
export async function workerIdOf(proc: SluiceProcess, timeoutMs = 15_000): Promise<string> {
  const m = await proc.waitForStderr(/"worker_id":"([^"]+)"[^\n]*"msg":"worker started"/, timeoutMs);
  return m[1]!;
}
