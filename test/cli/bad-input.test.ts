import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, runSluice, type ExitResult } from '../helpers/process.js';
import { FAST_WORKERS, TestEnv } from '../helpers/sqlite.js';

/**
 * Bad input fails with ONE line on stderr naming what, where and which rule, exit code 1,
 * and the queue exactly as it was. Each case runs against a database that already holds an
 * item, so "untouched" is a real check (counts of items, attempts and events; for broken
 * config files, the database file's bytes, mtime and WAL side files).
 */
let env: TestEnv;
beforeAll(async () => {
  env = new TestEnv();
  await env.cliOk(['enqueue', 'ops.noop', '--partition', 'seed=1']);
});
afterAll(async () => {
  await killStarted();
  env.cleanup();
});

/** Bad input exits 64 (EX_USAGE); a well-formed request that cannot be done (unknown item) exits 1. */
function expectOneClearError(r: ExitResult, pattern: RegExp, code = 64): void {
  expect(r.code, `exit code; stderr:\n${r.stderr}`).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, `stderr should be one line:\n${r.stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^sluice: error: /);
  expect(lines[0]).not.toMatch(/\n\s+at /);
  expect(lines[0]).toMatch(pattern);
}

describe('bad CLI input leaves the queue untouched', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'unknown pipeline',
      ['enqueue', 'ops.nope', '--partition', 'a=1'],
      /pipeline: "ops\.nope" is invalid: must name a registered pipeline \(known: [^)]*ops\.noop/,
    ],
    ['partition that is not k=v', ['enqueue', 'ops.noop', '--partition', 'foo'], /--partition: "foo" is invalid: must be key=value pairs/],
    [
      'partition key starting with a digit',
      ['enqueue', 'ops.noop', '--partition', '1bad=x'],
      /--partition\.1bad: "1bad" is invalid: must use a key made of letters, digits and _/,
    ],
    ['params of the wrong type', ['enqueue', 'ops.sleep', '--partition', 'a=1', '--params', '{"ms":"x"}'], /params\.ms: "x" is invalid: must be a number$/],
    [
      'params that are not JSON',
      ['enqueue', 'ops.sleep', '--partition', 'a=1', '--params', '{"ms":'],
      /--params: "\{\\"ms\\":" is invalid: must be valid JSON/,
    ],
    ['run of an unknown pipeline', ['run', 'ops.nope', '--partition', 'a=1', '--json'], /pipeline: "ops\.nope" is invalid: must name a registered pipeline/],
    ['cancel of an unknown item', ['work', 'cancel', '999'], /work item 999 not found/],
  ];

  it.each(cases)('%s', async (_name, command, pattern) => {
    const before = env.counts();
    expect(before.items).toBe(1);
    const r = await env.cli(command);
    expectOneClearError(r, pattern, command[1] === 'cancel' ? 1 : 64);
    expect(env.counts()).toEqual(before);
  });
});

describe('a broken config file fails at start, naming the file and the JSON path, and never touches the database', () => {
  const base = { database: 'sqlite:PLACEHOLDER', workers: FAST_WORKERS };
  const cases: [string, string, RegExp][] = [
    ['invalid JSON syntax', '{"workers": {"concurrency": 2,}}', /: \(file\): "broken\.json" is invalid: must be valid JSON: /],
    [
      'workers.concurrency: 0',
      JSON.stringify({ ...base, workers: { ...FAST_WORKERS, concurrency: 0 } }),
      /: workers\.concurrency: 0 is invalid: must be at least 1$/,
    ],
    [
      'retry.base_delay: "5x"',
      JSON.stringify({ ...base, pipelines: [{ domain: 'ops', name: 'fail', retry: { max_attempts: 2, base_delay: '5x' } }] }),
      /: pipelines\[0\]\.retry\.base_delay: "5x" is invalid: must be a duration such as 500ms, 5s, 15m, 2h, 1d or 1h30m$/,
    ],
    [
      'an unknown (misspelt) key',
      JSON.stringify({ ...base, workers: { ...FAST_WORKERS, concurency: 4 } }),
      /: workers\.concurency: 4 is invalid: must not be present: unknown field \(check the spelling\)$/,
    ],
    [
      'an unknown top-level key',
      JSON.stringify({ ...base, retries: 3 }),
      /: retries: 3 is invalid: must not be present: unknown field \(check the spelling\)$/,
    ],
    [
      'a pipeline entry for code that does not exist, without a command',
      JSON.stringify({
        ...base,
        pipelines: [
          { domain: 'ops', name: 'noop' },
          { domain: 'acme', name: 'ghost' },
        ],
      }),
      /: pipelines\[1\]\.command: missing value is invalid: must be given: "acme\.ghost" is not a built-in pipeline/,
    ],
  ];

  // Half the cases name the database in the config only, half also pass --db.
  it.each(cases.map((c, i) => [...c, i % 2 === 1] as const))('%s', async (_name, text, pattern, viaDbFlag) => {
    const file = path.join(env.dir, 'broken.json');
    writeFileSync(file, text.replace('PLACEHOLDER', env.dbPath.replace(/\\/g, '/')));
    const countsBefore = env.counts();
    const before = env.fileFingerprint();
    const args = ['--config', file, ...(viaDbFlag ? ['--db', env.dbUrl] : []), 'enqueue', 'ops.noop', '--partition', 'new=1'];
    const r = await runSluice(args, { cwd: env.dir });
    expectOneClearError(r, pattern);
    // Names the file it read.
    expect(r.stderr).toContain(`sluice: error: ${file}: `);
    expect(env.fileFingerprint()).toEqual(before);
    expect(env.counts()).toEqual(countsBefore);
  });

  it('a worker does not start on a broken config either', async () => {
    const file = path.join(env.dir, 'broken-worker.json');
    writeFileSync(file, JSON.stringify({ database: `sqlite:${env.dbPath}`, workers: { ...FAST_WORKERS, lease: 'soon' } }));
    const before = env.fileFingerprint();
    const r = await runSluice(['--config', file, 'worker', '--drain'], { cwd: env.dir, timeoutMs: 15_000 });
    expectOneClearError(r, /broken-worker\.json: workers\.lease: "soon" is invalid: must be a duration/);
    expect(env.fileFingerprint()).toEqual(before);
    expect(env.item(1).state).toBe('PENDING');
  });
});

describe('expected failures at start are one line naming the thing and the fix; usage errors exit 64', () => {
  it('a port out of range is a usage error', async () => {
    const r = await env.cli(['start', '--port', '99999', '--no-worker', '--no-scheduler']);
    expectOneClearError(r, /--port: "99999" is invalid: must be an integer from 0 to 65535/);
  });

  it('a port in use names the address and the fix, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await env.cli(['api', '--port', String(port)]);
      expectOneClearError(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use; .*--port`), 1);
    } finally {
      blocker.close();
    }
  });

  it('an unreachable database names it (password hidden) and what to check, exit 1', async () => {
    const r = await runSluice(['--db', 'postgres://sluice:hunter2@127.0.0.1:1/nowhere', 'work', 'list'], { cwd: env.dir });
    expectOneClearError(
      r,
      /cannot reach the database postgres:\/\/sluice:\*\*\*@127\.0\.0\.1:1\/nowhere \(ECONNREFUSED\): check that PostgreSQL is running/,
      1,
    );
    expect(r.stderr).not.toContain('hunter2');
  });

  it('a file that is not a database names the file, exit 1', async () => {
    const file = path.join(env.dir, 'not-a-db.sqlite');
    writeFileSync(file, 'x'.repeat(4096));
    const r = await runSluice(['--db', `sqlite:${file}`, 'work', 'list'], { cwd: env.dir });
    expectOneClearError(r, /cannot open the database sqlite:.*not-a-db\.sqlite: file is not a database \(SQLITE_NOTADB\)/, 1);
  });

  it('work list --limit -1 and a filter naming an unknown domain or pipeline are refused', async () => {
    expectOneClearError(await env.cli(['work', 'list', '--limit', '-1']), /--limit: "-1" is invalid: must be an integer from 1 to 10000/);
    expectOneClearError(await env.cli(['work', 'retry', '--domain', 'nope']), /--domain: "nope" is invalid: must name a registered domain \(known: [^)]*ops/);
    expectOneClearError(await env.cli(['work', 'list', '--pipeline', 'ops.nope']), /--pipeline: "ops\.nope" is invalid: must name a registered pipeline/);
    // A real domain with nothing failed is fine: "retried 0".
    const ok = await env.cli(['work', 'retry', '--domain', 'ops']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('retried 0 item(s)');
  });
});
