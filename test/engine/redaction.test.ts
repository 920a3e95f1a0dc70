import { afterEach, describe, expect, it } from 'vitest';
import { redactSecrets, secretsFromEnv } from '../../src/engine/secrets.js';
import { TestEnv } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

const KEY = 'sk-live-7f3a9c2e1b';
const TOKEN = 'tok-Qm4Zr8Xw2Lp';

describe('secrets never reach stored attempts', () => {
  it('a command that prints its API key and token: the output tail and error show *** instead', async () => {
    env = new TestEnv({
      pipelines: [
        {
          domain: 'test',
          name: 'leaky',
          command: [
            'sh',
            '-c',
            'echo "key=$VENDOR_API_KEY"; echo "token=$SLUICE_API_TOKEN" >&2; echo "url=https://x.example/q?apikey=$VENDOR_API_KEY"; exit 3',
          ],
          retry: { max_attempts: 1 },
        },
      ],
    });
    const id = await env.enqueue('test.leaky', 'case=leak');
    const drain = await env.cli(['worker', '--drain'], { env: { VENDOR_API_KEY: KEY, SLUICE_API_TOKEN: TOKEN } });
    expect(drain.code).toBe(1);
    expect(drain.stderr).not.toContain(KEY);
    expect(drain.stderr).not.toContain(TOKEN);
    const [attempt] = env.attempts(id);
    expect(attempt!.status).toBe('failed');
    expect(attempt!.output_tail).toContain('key=***');
    expect(attempt!.output_tail).toContain('token=***');
    expect(attempt!.output_tail).toContain('apikey=***');
    expect(JSON.stringify(attempt)).not.toContain(KEY);
    expect(JSON.stringify(attempt)).not.toContain(TOKEN);
  });

  it('which environment values count as secrets', () => {
    const e = { SLUICE_API_TOKEN: TOKEN, FRED_API_KEY: KEY, DB_PASSWORD: 'hunter2hunter2', HOME: '/root/secret-home', SHORT_TOKEN: 'abc' };
    expect(secretsFromEnv(e).sort()).toEqual([KEY, TOKEN, 'hunter2hunter2'].sort());
    expect(redactSecrets(`failed: ${encodeURIComponent(KEY)} ${TOKEN} /root/secret-home abc`, e)).toBe('failed: *** *** /root/secret-home abc');
  });
});
