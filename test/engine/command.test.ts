import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killStarted } from '../helpers/process.js';
import { poll, TestEnv } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

// `$1` and `$2` are the `{day}` and `{code}` placeholders: partition and params values
// passed as whole argv entries (after `sh -c SCRIPT` comes $0, then $1, $2).
const SCRIPT = [
  'echo "out:$GREETING:$1:$INHERITED:$SLUICE_PARTITION_KEY:$SLUICE_PIPELINE:$(basename "$PWD"):$SLUICE_PARAMS"',
  'echo "err:$GREETING" >&2',
  'exit "$2"',
].join('; ');

describe('config command pipelines', () => {
  it('output tail (stdout+stderr) on the attempt, env passed through, placeholders filled, non-zero exit fails with the code', async () => {
    env = new TestEnv({
      workers: { concurrency: 2 },
      pipelines: [
        {
          domain: 'test',
          name: 'shout',
          command: ['sh', '-c', SCRIPT, 'shout', '{day}', '{code}'],
          partition: { day: 'date' },
          params: { code: 'integer' },
          cwd: 'workdir',
          env: { GREETING: 'hello' },
          retry: { max_attempts: 1 },
        },
      ],
    });
    mkdirSync(path.join(env.dir, 'workdir'));
    const [ok, bad] = await Promise.all([
      env.enqueue('test.shout', 'day=2026-01-05', ['--params', '{"code":0}']),
      env.enqueue('test.shout', 'day=2026-01-06', ['--params', '{"code":"7"}']),
    ]);
    const drain = await env.cli(['worker', '--drain'], { env: { INHERITED: 'from-worker-env' } });
    expect(drain.code).toBe(1);

    expect(env.item(ok).state).toBe('COMPLETE');
    const [okAttempt] = env.attempts(ok);
    expect(okAttempt!.status).toBe('succeeded');
    // stdout and stderr both land in the tail; config env, the worker's own env, the item's
    // partition (as env and as the {day} argv entry), its params and the configured cwd
    // (relative to the config file) all reach the child.
    expect(okAttempt!.output_tail).toContain('out:hello:2026-01-05:from-worker-env:day=2026-01-05:test.shout:workdir:{"code":"0"}\n');
    expect(okAttempt!.output_tail).toContain('err:hello\n');
    expect(JSON.parse(okAttempt!.result!)).toEqual({ exit_code: 0 });

    const badItem = env.item(bad);
    expect(badItem.state).toBe('FAILED');
    expect(badItem.last_error).toBe('sh exited with code 7');
    const [badAttempt] = env.attempts(bad);
    expect(badAttempt).toMatchObject({ status: 'failed', error: 'sh exited with code 7' });
    expect(badAttempt!.output_tail).toContain('out:hello:2026-01-06:from-worker-env:day=2026-01-06:test.shout:workdir:{"code":"7"}\n');
    expect(badAttempt!.output_tail).toContain('err:hello\n');

    // `work show --json` exposes the same tail.
    const show = await env.cliOk(['work', 'show', String(bad), '--json']);
    const shown = JSON.parse(show.stdout) as { attempts: { output_tail: string; error: string }[] };
    expect(shown.attempts[0]).toMatchObject({ error: 'sh exited with code 7', output_tail: badAttempt!.output_tail });
  });

  it('a chatty command keeps only the tail, a missing program fails clearly', async () => {
    env = new TestEnv({
      workers: { concurrency: 3 },
      pipelines: [
        {
          domain: 'test',
          name: 'chatty',
          command: ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; echo LAST'],
          retry: { max_attempts: 1 },
        },
        { domain: 'test', name: 'missing', command: ['definitely-not-a-program-sluice'], retry: { max_attempts: 1 } },
      ],
    });
    const [chatty, missing] = await Promise.all([env.enqueue('test.chatty', 'case=chatty'), env.enqueue('test.missing', 'case=missing')]);
    const drain = await env.cli(['worker', '--drain']);
    expect(drain.code).toBe(1);

    const [c] = env.attempts(chatty);
    expect(c!.status).toBe('succeeded');
    expect(c!.output_tail!.endsWith('line 2999\nLAST\n')).toBe(true);
    expect(c!.output_tail!.startsWith('…')).toBe(true); // truncated, and says so
    expect(c!.output_tail!.length).toBeLessThanOrEqual(8 * 1024 + 1);
    expect(c!.output_tail).not.toContain('line 0\n');

    expect(env.item(missing)).toMatchObject({ state: 'FAILED' });
    expect(env.item(missing).last_error).toMatch(/could not start "definitely-not-a-program-sluice": .*ENOENT/);
  });

  it('a timeout stops the whole command, including the processes it started', async () => {
    env = new TestEnv({
      workers: { concurrency: 2 },
      pipelines: [
        {
          domain: 'test',
          name: 'slow',
          // The shell runs `sleep` as a grandchild, which then holds the output pipes.
          command: ['sh', '-c', 'echo started; sleep 23; touch "$1"; echo finished', 'slow', '{marker}'],
          params: { marker: { pattern: '/.+' } },
          timeout: '300ms',
          retry: { max_attempts: 1 },
        },
      ],
    });
    const marker = path.join(env.dir, 'survived');
    const id = await env.enqueue('test.slow', 'case=timeout', ['--params', JSON.stringify({ marker })]);
    const drain = await env.cli(['worker', '--drain']);
    expect(drain.code).toBe(1);
    const [attempt] = env.attempts(id);
    expect(attempt).toMatchObject({ status: 'timed_out', error: 'timed out after 300 ms', output_tail: 'started\n' });
    // Ended at the timeout, not when the grandchild's sleep would have (nor 5 s later).
    expect(attempt!.finished_at! - attempt!.started_at).toBeLessThan(2_000);
    expect(existsSync(marker)).toBe(false);
    // And nothing of it is left running: the grandchild got the signal too.
    await poll(() => !readProcessList().some((l) => l.includes('sleep 23')), "the command's process group to be gone", 3_000);
  });
});

/** Command lines of this user's processes (Linux /proc). */
function readProcessList(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
