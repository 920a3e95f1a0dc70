import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('sluice api (CLI command)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-cli-api-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the API and dashboard on a free port, requires the token when set, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['bin/run-ts.js', 'test/api/support/api-cli-entry.ts', '--db', `sqlite:${path.join(dir, 'cli.db')}`, '--log-level', 'warn', 'api', '--port', '0'],
      {
        cwd: ROOT,
        env: { ...process.env, SLUICE_API_TOKEN: 'cli-token' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${stderr}`)), 30_000);
        const check = () => {
          const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          } else setTimeout(check, 50);
        };
        check();
      });
      expect((await fetch(`${url}healthz`)).status).toBe(200);
      expect((await fetch(`${url}api/v1/work/pending`)).status).toBe(401);
      const ok = await fetch(`${url}api/v1/work/enqueue`, {
        method: 'POST',
        headers: { authorization: 'Bearer cli-token', 'content-type': 'application/json' },
        body: JSON.stringify({ pipeline: 'ops.noop', partition: { via: 'cli' } }),
      });
      expect(ok.status).toBe(201);
      expect((await fetch(`${url}docs/json`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('cli-token');
  });
});
