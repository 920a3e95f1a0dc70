import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeIfPg } from '../helpers/pg.js';
import { openTestDatabase, waitUntil } from '../helpers/backends.js';

const BIN = path.resolve(__dirname, '../../bin/sluice.js');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** The local cluster's version directory, as in `.ci/run` (`ls /etc/postgresql`). */
function restartPostgres(): void {
  const version = readdirSync('/etc/postgresql')[0]!;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'inherit', timeout: 60_000 });
}

const ITEMS = 150;

describeIfPg('PostgreSQL restarted during a run', () => {
  it('workers reconnect with back-off and finish every item exactly once', async () => {
    const db = await openTestDatabase('postgres');
    try {
      const config = db.writeConfig({ workers: { concurrency: 4, lease: '2s', poll_interval: '200ms' } });
      await db.store.enqueue(
        Array.from({ length: ITEMS }, (_, i) => ({
          domain: 'ops',
          pipeline: 'sleep',
          partition: { n: String(i) },
          params: { ms: 40 },
          maxAttempts: 10,
          backoff: { baseDelayMs: 200, factor: 2, maxDelayMs: 2_000, jitter: 0 },
        })),
      );
      const workers = [0, 1].map(() => {
        const child = spawn(process.execPath, [BIN, '--config', config, '--log-level', 'error', 'worker'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
        child.once('exit', (code, signal) => {
          if (code !== 0 || signal) process.stderr.write(`worker ${child.pid} exited (code ${code}, signal ${signal}); last stderr:\n${stderr}\n`);
        });
        children.push(child);
        return child;
      });
      await waitUntil(async () => (await db.store.countItems({ state: 'COMPLETE' })) >= 20, 60_000, '20 items complete');
      restartPostgres();
      // The test's own pool reconnects too (pg discards broken clients); poll until done.
      await waitUntil(
        async () => {
          try {
            return (await db.store.countItems({ state: 'COMPLETE' })) === ITEMS;
          } catch {
            return false;
          }
        },
        120_000,
        'every item COMPLETE after the restart',
        500,
      );
      // The worker processes survived the restart: nothing exited.
      expect(workers.every((w) => w.exitCode === null)).toBe(true);
      // Collected rather than asserted one by one: when this fails, the message shows every
      // offending item with its attempts and events, which is what tells a double run from
      // a leaked attempt.
      const offenders: unknown[] = [];
      for (const item of await db.store.listItems({ limit: ITEMS })) {
        const attempts = await db.store.listAttempts(item.id);
        const succeeded = attempts.filter((a) => a.status === 'succeeded').length;
        const running = attempts.filter((a) => a.status === 'running').length;
        if (succeeded !== 1 || running !== 0) {
          offenders.push({
            item: item.id,
            state: item.state,
            attempts: attempts.map((a) => `${a.id}#${a.attemptNo} ${a.status} ${a.workerId} ${a.startedAt.toISOString()}..${a.finishedAt?.toISOString() ?? ''} ${a.error ?? ''}`),
            events: (await db.store.listEvents(item.id)).map((e) => `${e.at.toISOString()} ${e.event} ${e.fromState ?? ''}->${e.toState} ${e.actor ?? ''}`),
          });
        }
      }
      expect(offenders).toEqual([]);
      for (const w of workers) w.kill('SIGTERM');
      const codes = await Promise.all(workers.map((w) => new Promise<number | null>((r) => w.once('exit', (code) => r(code)))));
      expect(codes).toEqual([0, 0]);
    } finally {
      await db.dispose().catch(() => undefined);
    }
  });
});
