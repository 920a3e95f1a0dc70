/**
 * The database stops taking writes mid-run: read-only (SQLite `query_only`, what a
 * remounted-read-only volume looks like to the connection) and disk full (SQLite's
 * `max_page_count` pinned at the current size: every write that needs a new page fails
 * with SQLITE_FULL, as on a full disk; no root or tmpfs needed).
 *
 * What must hold: the worker stays alive and keeps retrying the database (claims, outcome
 * writes, the lease sweep), the error it reports says what is wrong, no item is dropped
 * (each ends COMPLETE once writes work again), and the file is not corrupted
 * (`integrity_check`, and every landed capture has all its rows).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startHarness, type Harness } from '../api/support/harness.js';
import { waitUntil } from '../helpers/backends.js';
import { bulk, expectAllLandedOnce } from '../helpers/write-outage.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(): Promise<{ h: Harness; ids: number[]; db: SqliteStore['database'] }> {
  h = await startHarness({ pipelines: [bulk], worker: { leaseMs: 1_000, heartbeatMs: 200, pollMs: 50, concurrency: 3 }, logLevel: 'info' });
  const ids: number[] = [];
  for (let n = 0; n < 8; n++) {
    const res = await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'test.bulk', partition: { n: String(n) } } });
    ids.push(res.body.item.id);
  }
  return { h, ids, db: (h.app.store as SqliteStore).database };
}

async function expectRecovered(h: Harness, ids: number[]): Promise<void> {
  await expectAllLandedOnce(h.app.store, ids);
  expect((h.app.store as SqliteStore).database.pragma('integrity_check', { simple: true })).toBe('ok');
  expect(h.worker!.isRunning).toBe(true);
}

describe('the database stops taking writes mid-run (SQLite)', () => {
  it('read-only: the worker stays up and retries, says "readonly", drops nothing; all items complete once writable', async () => {
    const { h, ids, db } = await setup();
    h.worker!.start();
    await waitUntil(async () => (await h.app.store.countItems({ state: 'RUNNING' })) > 0, 10_000, 'items running');
    db.pragma('query_only = ON');
    // Longer than the lease: heartbeats, completions and the sweep all fail meanwhile.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(h.worker!.isRunning).toBe(true);
    const logs = h.logs.join('');
    expect(logs).toMatch(/readonly database/);
    expect(logs).toMatch(/retrying|will retry|will be retried/);
    db.pragma('query_only = OFF');
    await expectRecovered(h, ids);
  });

  it('disk full: captures fail whole with "database or disk is full", nothing half-written, nothing dropped; all complete once there is room', async () => {
    const { h, ids, db } = await setup();
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    h.worker!.start();
    await new Promise((r) => setTimeout(r, 2_500));
    expect(h.worker!.isRunning).toBe(true);
    const errors = new Set<string>();
    for (const id of ids) {
      const item = (await h.app.store.getItem(id))!;
      expect(item.state).not.toBe('FAILED');
      expect(item.state).not.toBe('COMPLETE');
      for (const a of await h.app.store.listAttempts(id)) if (a.error) errors.add(a.error);
    }
    const logs = h.logs.join('');
    // The reason is on the attempts that could be recorded, or in the log when even that failed.
    expect([...errors].join('\n') + logs).toMatch(/database or disk is full/);
    db.pragma('max_page_count = 1073741823');
    await expectRecovered(h, ids);
  });
});
