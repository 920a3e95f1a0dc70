import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry-policy.js';
import { backendsUnderTest, openTestDatabase, waitUntil } from '../helpers/backends.js';

const BIN = path.resolve(__dirname, '../../bin/sluice.js');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function startWorker(config: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, '--config', config, '--log-level', 'warn', 'worker'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', () => undefined);
  children.push(child);
  return child;
}

const ITEMS = 120;

describe.each(backendsUnderTest())('three worker processes on %s, one SIGKILLed mid-run and restarted', (backend) => {
  it('completes every item exactly once and keeps the lost attempts in the history', async () => {
    const db = await openTestDatabase(backend);
    try {
      const config = db.writeConfig({ workers: { concurrency: 4, lease: '1s', poll_interval: '100ms' } });
      const backoff = { baseDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 0 };
      await db.store.enqueue(
        Array.from({ length: ITEMS }, (_, i) => ({
          domain: 'ops',
          pipeline: 'sleep',
          partition: { n: String(i) },
          params: { ms: 150 },
          maxAttempts: DEFAULT_RETRY_POLICY.maxAttempts,
          backoff,
        })),
      );
      const workers = [startWorker(config), startWorker(config), startWorker(config)];
      const victim = workers[0]!;
      // Kill the first worker while it holds items.
      await waitUntil(
        async () => (await db.store.listItems({ state: 'RUNNING', limit: 100 })).some((i) => i.lockedBy?.includes(`:${victim.pid}:`)),
        30_000,
        'the first worker to be running items',
        20,
      );
      const held = (await db.store.listItems({ state: 'RUNNING', limit: 100 })).filter((i) => i.lockedBy?.includes(`:${victim.pid}:`));
      expect(held.length).toBeGreaterThan(0);
      victim.kill('SIGKILL');
      workers.push(startWorker(config)); // restarted
      await waitUntil(async () => (await db.store.countItems({ state: 'COMPLETE' })) === ITEMS, 90_000, 'every item COMPLETE', 200);

      for (const w of workers.slice(1)) w.kill('SIGTERM');
      await Promise.all(workers.slice(1).map((w) => new Promise((r) => (w.exitCode === null ? w.once('exit', r) : r(null)))));

      let lost = 0;
      for (const item of await db.store.listItems({ limit: ITEMS })) {
        const attempts = await db.store.listAttempts(item.id);
        // Exactly one successful attempt per item: nothing ran to completion twice.
        expect(attempts.filter((a) => a.status === 'succeeded')).toHaveLength(1);
        // No two attempts of one item overlapped in time.
        const sorted = [...attempts].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(sorted[i - 1]!.finishedAt!.getTime());
        lost += attempts.filter((a) => a.status === 'lost').length;
      }
      // Every item the killed worker held shows its lost attempt, naming the dead worker.
      for (const item of held) {
        const attempts = await db.store.listAttempts(item.id);
        const lostAttempt = attempts.find((a) => a.status === 'lost');
        expect(lostAttempt?.workerId).toBe(item.lockedBy);
        expect(lostAttempt?.error).toMatch(/lease expired/);
        expect(attempts.at(-1)!.status).toBe('succeeded');
      }
      expect(lost).toBeGreaterThanOrEqual(held.length);
      // The work was shared: at least two processes completed items (the restarted one may
      // join after the others have drained the queue on a loaded machine).
      const workersSeen = new Set(
        (await Promise.all((await db.store.listItems({ limit: ITEMS })).map((i) => db.store.listAttempts(i.id))))
          .flat()
          .filter((a) => a.status === 'succeeded')
          .map((a) => a.workerId.split(':')[1]),
      );
      expect(workersSeen.size).toBeGreaterThanOrEqual(2);
    } finally {
      await db.dispose();
    }
  });
});
