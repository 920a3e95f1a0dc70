import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { EnqueueSpec, Store } from '../../src/store/store.js';

const BIN = path.resolve(__dirname, '../../bin/sluice.js');

export interface WorkerProcess {
  child: ChildProcess;
  /** The last 20,000 characters it wrote to stderr. */
  stderr(): string;
}

/** Starts `n` real `sluice worker` processes on a config file; an exit other than 0 is
 * reported on the test's stderr with the worker's last output. */
export function spawnWorkers(config: string, n: number, logLevel = 'error'): WorkerProcess[] {
  return Array.from({ length: n }, () => {
    const child = spawn(process.execPath, [BIN, '--config', config, '--log-level', logLevel, 'worker'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
    child.once('exit', (code, signal) => {
      if (code !== 0 || signal) process.stderr.write(`worker ${child.pid} exited (code ${code}, signal ${signal}); last stderr:\n${stderr.slice(-4000)}\n`);
    });
    return { child, stderr: () => stderr };
  });
}

/**
 * Items without exactly one succeeded attempt, or with an attempt still running, each with
 * its attempts and events: what tells a double run from a leaked attempt when it fails.
 */
export async function attemptOffenders(store: Store, limit: number): Promise<unknown[]> {
  const offenders: unknown[] = [];
  for (const item of await store.listItems({ limit })) {
    const attempts = await store.listAttempts(item.id);
    const succeeded = attempts.filter((a) => a.status === 'succeeded').length;
    const running = attempts.filter((a) => a.status === 'running').length;
    if (succeeded !== 1 || running !== 0) {
      offenders.push({
        item: item.id,
        state: item.state,
        attempts: attempts.map(
          (a) => `${a.id}#${a.attemptNo} ${a.status} ${a.workerId} ${a.startedAt.toISOString()}..${a.finishedAt?.toISOString() ?? ''} ${a.error ?? ''}`,
        ),
        events: (await store.listEvents(item.id)).map((e) => `${e.at.toISOString()} ${e.event} ${e.fromState ?? ''}->${e.toState} ${e.actor ?? ''}`),
      });
    }
  }
  return offenders;
}

/** SIGTERMs the workers and resolves with their exit codes. */
export function stopWorkers(workers: WorkerProcess[]): Promise<(number | null)[]> {
  return Promise.all(
    workers.map(({ child }) => {
      const exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    }),
  );
}

/** `count` ops.sleep items of `ms` each (partition n = 0..count-1), with a fixed back-off. */
export function sleepItems(count: number, ms: number, maxAttempts: number, baseDelayMs: number): EnqueueSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    domain: 'ops',
    pipeline: 'sleep',
    partition: { n: String(i) },
    params: { ms },
    maxAttempts,
    backoff: { baseDelayMs, factor: 2, maxDelayMs: baseDelayMs * 10, jitter: 0 },
  }));
}
