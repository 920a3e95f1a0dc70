import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';
import { runSluice } from '../helpers/process.js';

const dbs: TestDatabase[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const db of dbs.splice(0)) await db.dispose();
});

async function receiver(status: number): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?key=sekrit-123456`, bodies };
}

describe('sluice alerts test and the alerts/deadline config', () => {
  it('posts one test message (slack format) and exits 0; a 500 answer exits 1 with the status, the secret redacted', async () => {
    const db = await openTestDatabase(backendsUnderTest()[0]!);
    dbs.push(db);
    const ok = await receiver(200);
    const bad = await receiver(500);
    const config = db.writeConfig({
      alerts: [
        { name: 'slack', on: ['failed'], webhook: ok.url, format: 'slack' },
        { name: 'broken', on: ['failed'], webhook: bad.url },
      ],
    });
    const sent = await runSluice(['--config', config, 'alerts', 'test', 'slack', '--json']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toEqual({ alert: 'slack', webhook: expect.stringContaining('key=***'), format: 'slack', ok: true, error: null });
    expect(ok.bodies).toEqual([{ text: expect.stringContaining('test alert') }]);
    const failed = await runSluice(['--config', config, 'alerts', 'test', 'broken']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('answered HTTP 500');
    expect(failed.stdout + failed.stderr).not.toContain('sekrit-123456');
    expect(bad.bodies).toHaveLength(1);
    const unknown = await runSluice(['--config', config, 'alerts', 'test', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/alert "nope" not found \(known: slack, broken\)/);
  }, 60_000);

  it('rejects deadlines and alerts that do not say what they mean, naming the field', async () => {
    const db = await openTestDatabase('sqlite');
    dbs.push(db);
    const bad = async (extra: Record<string, unknown>, pattern: RegExp) => {
      const r = await runSluice(['--config', db.writeConfig(extra), 'work', 'list', '--json']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    };
    await bad(
      { pipelines: [{ domain: 'ops', name: 'noop', deadline: 'after close' }] },
      /pipelines\[0\]\.deadline.*must be open, close, next_open or next_close/,
    );
    await bad({ pipelines: [{ domain: 'ops', name: 'noop', deadline: { at: 'close+2h', calendar: 'XLON' } }] }, /pipelines\[0\]\.deadline\.calendar.*XLON/);
    await bad(
      {
        pipelines: [{ domain: 'ops', name: 'noop', deadline: 'close+2h' }],
        schedules: [{ name: 's', pipeline: 'ops.noop', cron: '0 9 * * *', deadline: '17:00' }],
      },
      /schedules\[0\] \(s\)\.deadline.*once per pipeline/,
    );
    await bad({ alerts: [{ name: 'a', on: ['exploded'], webhook: 'http://127.0.0.1:9/x' }] }, /alerts\.0\.on\.0|alerts\[0\]\.on/);
    await bad({ alerts: [{ name: 'a', on: ['failed'], webhook: 'ftp://x' }] }, /webhook.*http:\/\/ or https:\/\//);
    await bad(
      { alerts: [{ name: 'a', on: ['failed'], pipelines: ['ops.nope'], webhook: 'http://127.0.0.1:9/x' }] },
      /alerts\[0\]\.pipelines\[0\].*registered pipeline/,
    );
    await bad({ alerts: [{ name: 'a', on: ['failed'], webhook: 'http://127.0.0.1:9/x', severity: 'high' }] }, /severity/);
  }, 90_000);
});
