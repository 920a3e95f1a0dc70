import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { describeIfPg } from '../helpers/pg.js';
import { openTestDatabase, waitUntil } from '../helpers/backends.js';
import { attemptOffenders, sleepItems, spawnWorkers, stopWorkers, type WorkerProcess } from '../helpers/worker-processes.js';

let workers: WorkerProcess[] = [];
afterAll(() => {
  for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL');
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
      await db.store.enqueue(sleepItems(ITEMS, 40, 10, 200));
      workers = spawnWorkers(config, 2);
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
      expect(workers.map((w) => w.child.exitCode)).toEqual([null, null]);
      // Every offending item with its attempts and events, which tells a double run from a
      // leaked attempt.
      expect(await attemptOffenders(db.store, ITEMS)).toEqual([]);
      expect(await stopWorkers(workers)).toEqual([0, 0]);
    } finally {
      await db.dispose().catch(() => undefined);
    }
  });
});
