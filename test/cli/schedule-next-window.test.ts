import { afterAll, describe, expect, it } from 'vitest';
import { parseJsonOutput, runSluice } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';

const env = new TestEnv({}, 'sluice-next-window-');
afterAll(() => env.cleanup());

const next = async (args: string[]) => {
  const r = await runSluice(['--config', env.configPath, 'schedule', 'next', ...args, '--json'], { cwd: env.dir, timeoutMs: 60_000 });
  return { ...r, times: r.code === 0 ? parseJsonOutput<string[]>(r) : [] };
};

describe('sluice schedule next with --every and --window session', () => {
  it('--every 15m --calendar XNYS --window session: from the early close of 2026-11-27 into the next session', async () => {
    const r = await next(['--every', '15m', '--calendar', 'XNYS', '--window', 'session', '--from', '2026-11-27T12:20:00-05:00', '--count', '5']);
    expect(r.code).toBe(0);
    expect(r.times).toEqual([
      '2026-11-27T12:30:00-05:00',
      '2026-11-27T12:45:00-05:00',
      '2026-11-27T13:00:00-05:00',
      '2026-11-30T09:30:00-05:00',
      '2026-11-30T09:45:00-05:00',
    ]);
  });

  it('--cron with --timezone, --calendar and --window session keeps only instants inside the session', async () => {
    const r = await next([
      '--cron',
      '*/15 9-15 * * *',
      '--timezone',
      'America/New_York',
      '--calendar',
      'XNYS',
      '--window',
      'session',
      '--from',
      '2026-12-24T08:00:00-05:00',
      '--count',
      '16',
    ]);
    expect(r.code).toBe(0);
    expect(r.times[0]).toBe('2026-12-24T09:30:00-05:00');
    expect(r.times[14]).toBe('2026-12-24T13:00:00-05:00');
    expect(r.times[15]).toBe('2026-12-28T09:30:00-05:00');
  });

  it('a bad --window is one clear line', async () => {
    const r = await next(['--every', '15m', '--calendar', 'XNYS', '--window', 'day']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--window.*"day".*session/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
