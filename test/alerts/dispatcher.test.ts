/**
 * The dispatcher in process against a real HTTP receiver and a real SQLite outbox: a 4xx is
 * a refusal (rejected, not retried, the next event goes out), a pipelines filter applies to
 * schedule_missed through the schedule's pipeline, and the slack format is a text document.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertDispatcher } from '../../src/engine/alerts/dispatcher.js';
import { alertStoreFor } from '../../src/store/alert-store.js';
import { createLogger } from '../../src/log/logger.js';
import { openTestDatabase, type TestDatabase } from '../helpers/backends.js';

const dbs: TestDatabase[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const db of dbs.splice(0)) await db.dispose();
});

describe('alert dispatcher', () => {
  it('a 400 is rejected once and the next event is delivered; filters and formats apply', async () => {
    const got: { path: string; body: any }[] = [];
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const body = JSON.parse(text);
        got.push({ path: req.url!, body });
        res.writeHead(body.schedule === 'refused' ? 400 : 200).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const db = await openTestDatabase('sqlite');
    dbs.push(db);
    const alerts = alertStoreFor(db.store);
    const ev = (schedule: string, key: string) =>
      alerts.insertEvent({
        event: 'schedule_missed',
        domain: null,
        pipeline: null,
        partitionKey: null,
        itemId: null,
        schedule,
        error: 'late',
        at: new Date(),
        dedupeKey: key,
      });
    await ev('refused', 'a');
    await ev('prices-close', 'b');
    await ev('other', 'c');
    const dispatcher = new AlertDispatcher({
      alerts,
      logger: createLogger('silent'),
      schedulePipelines: new Map([
        ['refused', 'prices.daily_ohlcv'],
        ['prices-close', 'prices.daily_ohlcv'],
        ['other', 'ops.noop'],
      ]),
      dashboardUrl: 'http://dash.example/',
      rules: [
        { name: 'json', on: ['schedule_missed'], pipelines: ['prices.daily_ohlcv'], webhook: `${base}/json`, format: 'json' },
        { name: 'slack', on: ['failed'], webhook: `${base}/slack`, format: 'slack' },
      ],
    });
    expect(await dispatcher.runOnce()).toBe(2); // the refusal counts as handled, then the next
    expect(got.map((g) => [g.path, g.body.schedule])).toEqual([
      ['/json', 'refused'],
      ['/json', 'prices-close'],
    ]);
    expect(got[1]!.body).toMatchObject({ alert: 'json', event: 'schedule_missed', error: 'late', link: 'http://dash.example/schedules' });
    const states = (await alerts.listDeliveries(10)).map((d) => [d.event.schedule, d.state, d.attempts, d.lastError]).reverse();
    expect(states).toEqual([
      ['refused', 'rejected', 1, 'HTTP 400'],
      ['prices-close', 'delivered', 1, null],
    ]);
    expect(await dispatcher.runOnce()).toBe(0); // nothing again
    expect(got).toHaveLength(2);

    await alerts.insertEvent({
      event: 'failed',
      domain: 'ops',
      pipeline: 'noop',
      partitionKey: 'date=2026-11-27',
      itemId: 7,
      schedule: null,
      error: 'boom',
      at: new Date(),
      dedupeKey: 'f',
    });
    await dispatcher.runOnce();
    expect(got.at(-1)).toEqual({
      path: '/slack',
      body: {
        text: expect.stringMatching(
          /^\*ops\.noop date=2026-11-27\*: failed \(attempts exhausted\)\n> boom\nat .*\n<http:\/\/dash\.example\/items\/7\|open in Sluice>$/,
        ),
      },
    });
  });
});
