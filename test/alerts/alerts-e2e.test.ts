/**
 * Alerts end to end, with real parts only: `sluice start` as a child process on a real
 * SQLite file (and PostgreSQL when reachable), a real HTTP receiver on 127.0.0.1, SIGKILL and
 * SIGTERM with restarts in between. An item fails for good, a partition misses its deadline,
 * and the receiver answers 503 and then refuses connections for the first tries: each alert
 * still arrives exactly once, in outbox order, and the webhook's secret never reaches a log.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { alertStoreFor } from '../../src/store/alert-store.js';
import { backendsUnderTest, openTestDatabase, waitUntil, type TestDatabase } from '../helpers/backends.js';
import { killStarted, runSluice, startSluice } from '../helpers/process.js';

interface Received {
  status: number;
  body: Record<string, unknown>;
  idempotencyKey: string | undefined;
}

/** A webhook receiver whose answer can be changed, and that can go away and come back on the same port. */
class Receiver {
  mode: 'fail' | 'ok' = 'fail';
  readonly received: Received[] = [];
  private server: http.Server | null = null;
  port = 0;

  async up(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const status = this.mode === 'ok' ? 200 : 503;
        this.received.push({ status, body: JSON.parse(text) as Record<string, unknown>, idempotencyKey: req.headers['idempotency-key'] as string | undefined });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    s?.closeAllConnections();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  get acknowledged(): Received[] {
    return this.received.filter((r) => r.status === 200);
  }
}

const dbs: TestDatabase[] = [];
const receivers: Receiver[] = [];
afterEach(async () => {
  await killStarted();
  for (const r of receivers.splice(0)) await r.down();
  for (const db of dbs.splice(0)) await db.dispose();
});

const SECRET = 'tok-5f1e9c2a77';

describe.each(backendsUnderTest())('alerts through sluice start restarts (%s)', (backend) => {
  it('a failed item and a missed deadline each arrive once, in order, though the receiver was down and sluice was killed and restarted', async () => {
    const receiver = new Receiver();
    receivers.push(receiver);
    await receiver.up();
    const db = await openTestDatabase(backend);
    dbs.push(db);
    // A deadline 30 minutes ago (fixed UTC time, so the test never depends on the calendar),
    // with the pipeline's tracking cursor an hour back: the first sweep decides it, missed.
    const dueAt = new Date(Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000);
    const day = dueAt.toISOString().slice(0, 10);
    const hhmm = dueAt.toISOString().slice(11, 16);
    const alerts = alertStoreFor(db.store);
    await alerts.recordDeadlines({ pipeline: 'ops.noop', from: null, to: new Date(Date.now() - 3_600_000), decisions: [], now: new Date() });
    const config = db.writeConfig({
      log_level: 'info',
      workers: { concurrency: 2, poll_interval: '100ms' },
      pipelines: [{ domain: 'ops', name: 'noop', deadline: `${hhmm} UTC` }],
      alerts: [
        {
          name: 'desk',
          on: ['failed', 'deadline_missed'],
          webhook: `http://127.0.0.1:${receiver.port}/hooks/desk?token=${SECRET}`,
          format: 'json',
          retry: { base_delay: '200ms', max_delay: '400ms' },
        },
      ],
    });
    const enqueue = async (...args: string[]) => {
      const r = await runSluice(['--config', config, 'enqueue', ...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { id: number } | { id: number }[];
    };
    const failing = await enqueue('ops.fail', '--partition', `date=${day}`, '--max-attempts', '2', '--base-delay', '100ms');
    // Not due for a year: still PENDING at its deadline.
    const late = await enqueue('ops.noop', '--partition', `date=${day}`, '--at', new Date(Date.now() + 365 * 86_400_000).toISOString());
    const failingId = (Array.isArray(failing) ? failing[0]! : failing).id;
    const lateId = (Array.isArray(late) ? late[0]! : late).id;

    // 1) The receiver answers 503: the oldest event is tried and retried (the next waits behind
    // it, so the receiver sees them in order), none acknowledged.
    const first = startSluice(['--config', config, 'start', '--port', '0']);
    await waitUntil(
      async () => receiver.received.length >= 2 && (await alerts.listDeliveries(10)).length === 2,
      20_000,
      'two pending deliveries, the first tried twice against the 503 receiver',
    ).catch((err) => {
      throw new Error(`${String(err)}\nreceived: ${JSON.stringify(receiver.received)}\nstderr:\n${first.stderr.slice(-3000)}`);
    });
    expect(receiver.acknowledged).toEqual([]);
    first.kill('SIGKILL');
    await first.exited;

    // 2) The receiver is gone (connection refused); sluice restarts, tries, and is stopped gracefully.
    await receiver.down();
    const second = startSluice(['--config', config, 'start', '--port', '0']);
    await second.waitForStderr(/alert delivery failed; will retry.*ECONNREFUSED|ECONNREFUSED.*alert delivery failed/, 20_000);
    second.kill('SIGTERM');
    const stopped = await second.waitExit(20_000);
    expect(stopped.code).toBe(0);

    // 3) The receiver is back and accepts; a third start delivers everything pending.
    receiver.mode = 'ok';
    await receiver.up();
    const third = startSluice(['--config', config, 'start', '--port', '0']);
    await waitUntil(async () => receiver.acknowledged.length >= 2, 20_000, 'both alerts acknowledged');
    // Give a duplicate every chance to show up before counting.
    await new Promise((r) => setTimeout(r, 1500));
    third.kill('SIGTERM');
    await third.waitExit(20_000);

    const events = (await alerts.listDeliveries(10)).reverse();
    expect(events.map((d) => [d.event.event, d.state])).toEqual([
      [expect.any(String), 'delivered'],
      [expect.any(String), 'delivered'],
    ]);
    const got = receiver.acknowledged.map((r) => r.body);
    expect(got).toHaveLength(2);
    // In outbox order, each once.
    expect(got.map((b) => b.id)).toEqual(events.map((d) => d.event.id));
    const byEvent = Object.fromEntries(got.map((b) => [b.event as string, b]));
    expect(byEvent.failed).toMatchObject({
      alert: 'desk',
      pipeline: 'ops.fail',
      partition: `date=${day}`,
      item_id: failingId,
      error: expect.stringContaining('ops.fail: deliberate failure'),
    });
    expect(byEvent.deadline_missed).toMatchObject({ alert: 'desk', pipeline: 'ops.noop', partition: `date=${day}`, item_id: lateId, at: dueAt.toISOString() });
    expect(String(byEvent.failed!.link)).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/items/${failingId}$`));
    // The 503s and refusals were retried: more requests than acknowledged ones, all carrying the delivery's key.
    expect(receiver.received.length).toBeGreaterThan(2);
    expect(new Set(receiver.acknowledged.map((r) => r.idempotencyKey)).size).toBe(2);
    // No log line of any run carries the webhook's secret.
    for (const p of [first, second, third]) {
      expect(p.stderr + p.stdout).not.toContain(SECRET);
    }
    expect(first.stderr).toContain(`"webhook":"http://127.0.0.1:${receiver.port}/hooks/desk?token=***"`);
    expect(second.stderr).toContain('alert delivery failed');
    // The deadline is stored once, as missed, and `work show` says so.
    const show = await runSluice(['--config', config, 'work', 'show', String(lateId), '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).deadline).toMatchObject({ deadline: `${hhmm} UTC`, due_at: dueAt.toISOString(), state: 'missed' });
  }, 120_000);
});
