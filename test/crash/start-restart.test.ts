/**
 * `sluice start` (API + worker + scheduler in one process) SIGKILLed twice mid-run on SQLite
 * and started again on the same file. The crash matrix's invariants must hold afterwards
 * (every item final, no capture half-written, every attempt recorded and closed, no two
 * attempts of one item at once, downstream promoted exactly once), and the scheduler,
 * down across several of its 1-second ticks, must decide each tick once: the outage's ticks
 * coalesced into one catch-up decision per restart (the default misfire policy: a fire, or
 * an overlap skip while the killed process's item is still leased), none twice.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { PipelineRegistry } from '../../src/engine/registry.js';
import { killStarted, startSluice, type SluiceProcess } from '../helpers/process.js';
import { openScratchDatabase, type ScratchDatabase } from './database.js';
import { checkInvariants } from './harness.js';
import { down, up } from './pipelines.js';

const MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pipelines.ts');
let db: ScratchDatabase | undefined;
afterEach(async () => {
  await killStarted();
  await db?.dispose();
  db = undefined;
});

describe('sluice start killed and restarted mid-run (SQLite)', () => {
  it('two SIGKILLs of the whole server: nothing lost or doubled, no tick fired twice', { timeout: 120_000 }, async () => {
    db = await openScratchDatabase('sqlite');
    const config = db.writeConfig({
      modules: [MODULE],
      workers: { concurrency: 3, lease: '1s', poll_interval: '50ms' },
      // A killed leader's lease must run out quickly for the restarted scheduler to lead.
      scheduler: { lease: '2s' },
      schedules: [{ name: 'beat', pipeline: 'ops.noop', every: '1s' }],
    });
    const registry = new PipelineRegistry().register(up).register(down);
    await enqueueWork(
      db.store,
      registry,
      Array.from({ length: 30 }, (_, i) => ({ pipeline: 'crash.up', partition: { n: String(i + 1) } })),
    );

    const start = (): SluiceProcess => startSluice(['--config', config, 'start', '--port', '0'], { env: { SLUICE_LOG_LEVEL: 'info' } });
    const completed = async () => (await db!.store.countItems({ state: 'COMPLETE', domain: 'crash' })) as number;
    let kills = 0;
    for (const target of [10, 30]) {
      const server = start();
      await server.waitForStderr(/worker started|listening|http:\/\/127\.0\.0\.1/, 30_000);
      const deadline = Date.now() + 40_000;
      while ((await completed()) < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      server.kill('SIGKILL');
      expect((await server.waitExit(10_000)).signal).toBe('SIGKILL');
      kills++;
      // Down for a few scheduler ticks before the restart.
      await new Promise((r) => setTimeout(r, 3_000));
    }
    expect(kills).toBe(2);
    const last = start();
    const deadline = Date.now() + 60_000;
    while ((await completed()) < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    last.kill('SIGTERM');
    expect((await last.waitExit(20_000)).code).toBe(0);

    const f = await checkInvariants(db);
    const crashItems = f.violations.filter((v) => v.startsWith('crash.'));
    expect(crashItems).toEqual([]);

    const file = new Database(db.url.slice('sqlite:'.length), { readonly: true });
    try {
      const ticks = file.prepare(`SELECT scheduled_at, outcome, item_ids FROM schedule_ticks WHERE schedule = 'beat' ORDER BY scheduled_at`).all() as {
        scheduled_at: number;
        outcome: string;
        item_ids: string;
      }[];
      const fired = ticks.filter((t) => t.outcome === 'fired');
      const summary = JSON.stringify(ticks.map((t) => [t.scheduled_at % 100_000, t.outcome]));
      // At least one catch-up decision per process life: each restart decides what it missed.
      // The decision is a fire, or a skip for overlap when the killed process's beat item is
      // still RUNNING under its (not yet expired) lease: overlap "skip" is the default policy.
      const decided = ticks.filter((t) => t.outcome === 'fired' || t.outcome === 'skipped_overlap');
      expect(decided.length, summary).toBeGreaterThanOrEqual(3);
      expect(fired.length, summary).toBeGreaterThanOrEqual(1);
      // Each tick decided once (fired, coalesced, skipped), never twice across the restarts.
      expect(new Set(ticks.map((t) => t.scheduled_at)).size).toBe(ticks.length);
      // The outage's ticks were coalesced into the catch-up fire (coalesce is the default),
      // not fired one by one on restart.
      expect(ticks.filter((t) => t.outcome === 'coalesced').length, summary).toBeGreaterThan(fired.length);
      const noop = new Set(file.prepare(`SELECT id FROM work_items WHERE domain = 'ops' AND pipeline = 'noop'`).pluck().all() as number[]);
      for (const t of fired) for (const id of JSON.parse(t.item_ids) as number[]) expect(noop.has(id)).toBe(true);
    } finally {
      file.close();
    }
  });
});
