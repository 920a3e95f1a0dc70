import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, parseJsonOutput } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

describe('sluice enqueue (idempotent on pipeline + partition)', () => {
  it('enqueues once; the same pipeline+partition again reports "exists"; --json says created:false', async () => {
    env = new TestEnv();
    const first = await env.cliOk(['enqueue', 'ops.noop', '--partition', 'date=2026-01-05,symbol=AAPL']);
    expect(first.stdout).toMatch(/^enqueued\s+#1 ops\.noop \[date=2026-01-05\|symbol=AAPL\] PENDING$/m);

    // Same partition with its keys in the other order (same canonical key), plus a new one.
    const second = await env.cliOk(['enqueue', 'ops.noop', '--partition', 'symbol=AAPL,date=2026-01-05', '--partition', 'date=2026-01-06']);
    expect(second.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^exists\s+#1 ops\.noop \[date=2026-01-05\|symbol=AAPL\] PENDING$/),
      expect.stringMatching(/^enqueued\s+#2 ops\.noop \[date=2026-01-06\] PENDING$/),
    ]);

    const third = await env.cliOk(['enqueue', 'ops.noop', '--partition', 'date=2026-01-05,symbol=AAPL', '--json']);
    // `--json` prints one JSON document on stdout and nothing else there.
    const json = parseJsonOutput<Record<string, unknown>[]>(third);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      id: 1,
      domain: 'ops',
      pipeline: 'noop',
      partition: { date: '2026-01-05', symbol: 'AAPL' },
      partition_key: 'date=2026-01-05|symbol=AAPL',
      state: 'PENDING',
      attempts: 0,
      created: false,
    });

    expect(env.items().map((i) => i.partition_key)).toEqual(['date=2026-01-05|symbol=AAPL', 'date=2026-01-06']);
    // One enqueue event for item 1, however many times it was asked for.
    expect(env.events(1).map((e) => e.event)).toEqual(['enqueue']);
  });

  it('a reader that closes the pipe early (`sluice work list | head`) is not a crash', async () => {
    env = new TestEnv();
    await env.cliOk(['enqueue', 'ops.noop', '--partition', 'n=1', '--partition', 'n=2']);
    const proc = env.spawn(['work', 'list']);
    proc.child.stdout.destroy(); // closed before the CLI has written anything
    const exit = await proc.waitExit(15_000);
    expect(exit.stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
    expect(exit.code).toBe(0);
  });
});
