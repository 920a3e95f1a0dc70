import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/cli/bind-policy.js';
import { killStarted, type SluiceProcess } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';
import { expectRefused } from './support.js';

/**
 * The API binds to 127.0.0.1 by default. Bound to anything else without SLUICE_API_TOKEN,
 * `sluice start` and `sluice api` refuse to start with one line saying why, unless
 * `--insecure` says it is meant.
 */
let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

async function waitForUrl(proc: SluiceProcess, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = proc.stdout.match(/(http:\/\/\S+\/)/);
    if (m) return m[1]!;
    if (proc.hasExited) throw new Error(`exited before serving:\n${proc.stderr}`);
    if (Date.now() > deadline) throw new Error(`no URL printed within ${timeoutMs} ms:\n${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('binding beyond loopback needs a token or --insecure', () => {
  it('sluice start --host 0.0.0.0 and sluice api with api.host "::" and no token refuse, in one line, and serve nothing', async () => {
    env = new TestEnv({ scheduler: { enabled: false } });
    expectRefused(
      await env.cli(['start', '--host', '0.0.0.0', '--port', '0']),
      'refusing to serve the API on 0.0.0.0 without a token',
      /set SLUICE_API_TOKEN, bind to 127\.0\.0\.1, or pass --insecure/,
      1,
    );
    env.writeConfig({ api: { host: '::', port: 0 } });
    expectRefused(await env.cli(['api']), 'refusing to serve the API on :: without a token', undefined, 1);
    // An empty token is no token.
    expectRefused(await env.cli(['api'], { env: { SLUICE_API_TOKEN: '' } }), 'refusing to serve the API on :: without a token', undefined, 1);
  });

  it('the default (127.0.0.1) needs no token; a token, or --insecure, allows another host', async () => {
    env = new TestEnv({ scheduler: { enabled: false }, api: { port: 0 } });
    const local = env.spawn(['api']);
    expect(await waitForUrl(local)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    local.kill('SIGTERM');
    await local.waitExit();

    const token = 'x'.repeat(32);
    const withToken = env.spawn(['api', '--host', '0.0.0.0'], { env: { SLUICE_API_TOKEN: token } });
    const url = (await waitForUrl(withToken)).replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(`${url}api/v1/work/pending`)).status).toBe(401);
    expect((await fetch(`${url}api/v1/work/pending`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    withToken.kill('SIGTERM');
    await withToken.waitExit();

    const insecure = env.spawn(['start', '--host', '0.0.0.0', '--insecure', '--no-worker', '--no-scheduler']);
    expect(await waitForUrl(insecure)).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
    insecure.kill('SIGTERM');
    await insecure.waitExit();
  });

  it('what counts as loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', 'api.localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});
