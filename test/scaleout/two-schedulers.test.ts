import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backendsUnderTest, openTestDatabase, waitUntil } from '../helpers/backends.js';

const BIN = path.resolve(__dirname, '../../bin/sluice.js');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function startScheduler(config: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, '--config', config, '--log-level', 'warn', 'scheduler'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', () => undefined);
  children.push(child);
  return child;
}

describe.each(backendsUnderTest())('two scheduler processes on %s', (backend) => {
  it('fire every tick exactly once, and a standby takes over within the lease when the leader is killed', async () => {
    const db = await openTestDatabase(backend);
    try {
      const config = db.writeConfig({
        scheduler: { lease: '1s' },
        schedules: [{ name: 'every-second', pipeline: 'ops.noop', cron: '* * * * * *', timezone: 'UTC', overlap: 'allow', coalesce: false }],
      });
      const a = startScheduler(config);
      const b = startScheduler(config);
      // Process start-up (tsx, migrations) takes a variable while on a loaded machine.
      await waitUntil(async () => (await db.store.listTicks('every-second', 5)).length >= 3, 30_000, 'three ticks');
      const holder = await db.store.leaseHolder('scheduler');
      expect(holder).not.toBeNull();
      const leader = [a, b].find((c) => holder!.holder.includes(`:${c.pid}:`))!;
      expect(leader).toBeDefined();
      const standby = leader === a ? b : a;
      const killedAt = Date.now();
      leader.kill('SIGKILL');
      await waitUntil(
        async () => (await db.store.listTicks('every-second', 10)).filter((t) => t.firedAt && t.firedAt.getTime() > killedAt).length >= 3,
        30_000,
        'three ticks after the kill',
      );
      standby.kill('SIGTERM');
      await new Promise((r) => standby.once('exit', r));

      const ticks = (await db.store.listTicks('every-second', 1000)).reverse();
      expect(ticks.length).toBeGreaterThanOrEqual(6);
      // One row per second with no gaps: the unique tick row rules out duplicates, so what
      // matters is that nothing was skipped across the handover.
      for (let i = 1; i < ticks.length; i++) {
        expect(ticks[i]!.scheduledAt.getTime() - ticks[i - 1]!.scheduledAt.getTime()).toBe(1000);
      }
      expect(ticks.every((t) => t.outcome === 'fired')).toBe(true);
      // Each fired tick enqueued exactly one item, and no item was enqueued twice.
      const itemIds = ticks.flatMap((t) => t.itemIds);
      expect(new Set(itemIds).size).toBe(ticks.length);
      expect(await db.store.countItems()).toBe(ticks.length);
      // Both led at some point; the standby's first tick after the kill came within the
      // lease (1 s) plus one evaluation interval.
      expect(new Set(ticks.map((t) => t.schedulerId)).size).toBe(2);
      const takeover = ticks.find((t) => t.firedAt!.getTime() > killedAt && t.schedulerId.includes(`:${standby.pid}:`));
      expect(takeover).toBeDefined();
      expect(takeover!.firedAt!.getTime() - killedAt).toBeLessThan(2_500);
    } finally {
      await db.dispose();
    }
  });
});
