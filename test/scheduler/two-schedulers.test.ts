import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const BIN = path.resolve(__dirname, '../../bin/sluice.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startScheduler(config: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, '--config', config, '--log-level', 'warn', 'scheduler'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', () => undefined);
  children.push(child);
  return child;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('two scheduler processes on one SQLite file', () => {
  it('fire every tick exactly once, and a standby takes over within the lease when the leader is killed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-2sched-'));
    dirs.push(dir);
    const db = path.join(dir, 'q.db');
    const config = path.join(dir, 'sluice.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        database: `sqlite:${db}`,
        scheduler: { lease: '1s' },
        schedules: [{ name: 'every-second', pipeline: 'ops.noop', cron: '* * * * * *', timezone: 'UTC', overlap: 'allow', coalesce: false }],
      }),
    );
    const store = new SqliteStore({ path: db });
    await store.migrate();
    try {
      const a = startScheduler(config);
      const b = startScheduler(config);
      await sleep(4_000);
      const holder = await store.leaseHolder('scheduler');
      expect(holder).not.toBeNull();
      const leader = [a, b].find((c) => holder!.holder.includes(`:${c.pid}:`))!;
      const standby = leader === a ? b : a;
      expect(leader).toBeDefined();
      const killedAt = Date.now();
      leader.kill('SIGKILL');
      await sleep(4_000);
      standby.kill('SIGTERM');
      await new Promise((r) => standby.once('exit', r));

      const ticks = (await store.listTicks('every-second', 1000)).reverse();
      expect(ticks.length).toBeGreaterThanOrEqual(6);
      // One row per second, no gaps: the unique row makes duplicates impossible, so what
      // matters is that nothing was skipped across the handover.
      for (let i = 1; i < ticks.length; i++) {
        expect(ticks[i]!.scheduledAt.getTime() - ticks[i - 1]!.scheduledAt.getTime()).toBe(1000);
      }
      expect(ticks.every((t) => t.outcome === 'fired')).toBe(true);
      // Each fired tick enqueued exactly one item, and no item was enqueued twice.
      const itemIds = ticks.flatMap((t) => t.itemIds);
      expect(new Set(itemIds).size).toBe(ticks.length);
      expect(await store.countItems()).toBe(ticks.length);
      // Both processes led at some point, and the standby's first tick after the kill was
      // fired within the lease (1 s) plus one evaluation interval.
      const schedulerIds = new Set(ticks.map((t) => t.schedulerId));
      expect(schedulerIds.size).toBe(2);
      const takeover = ticks.find((t) => t.firedAt!.getTime() > killedAt && t.schedulerId.includes(`:${standby.pid}:`));
      expect(takeover).toBeDefined();
      expect(takeover!.firedAt!.getTime() - killedAt).toBeLessThan(2_500);
    } finally {
      await store.close();
    }
  });
});
