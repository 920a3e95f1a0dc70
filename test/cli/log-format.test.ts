import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, logLines, runSluice, SLUICE_BIN, startSluice } from '../helpers/process.js';

/**
 * Logs for people: `sluice start` prints its URL first, then one pretty line per event on a
 * terminal (a real pty through util-linux `script`), JSON lines when stderr is not a
 * terminal, and whichever `--log-format` names.
 */
const PRETTY_LINE = /^\d{2}:\d{2}:\d{2}\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** Log lines of stderr: the shutdown notice (`sluice: SIGINT: …`) is a plain message, not a log. */
const logOf = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('sluice: '));

describe('log format of sluice start', () => {
  let dir: string;
  let config: string;
  const noColour = { NO_COLOR: undefined, FORCE_COLOR: undefined, SLUICE_LOG_FORMAT: undefined };
  const args = (db: string, ...extra: string[]) => [
    '--config',
    config,
    '--db',
    `sqlite:${path.join(dir, db)}`,
    ...extra,
    'start',
    '--port',
    '0',
    '--no-worker',
    '--no-scheduler',
  ];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-logfmt-'));
    config = path.join(dir, 'sluice.config.json');
    writeFileSync(config, JSON.stringify({ log_level: 'info' }));
  });
  afterAll(async () => {
    await killStarted();
    rmSync(dir, { recursive: true, force: true });
  });

  async function started(extra: string[], env: Record<string, string | undefined> = {}) {
    const p = startSluice(args(`${Math.random().toString(36).slice(2)}.db`, ...extra), { cwd: dir, env: { ...noColour, ...env } });
    await p.waitForStderr(/sluice started/, 60_000);
    p.kill('SIGINT');
    const r = await p.waitExit(30_000);
    return r;
  }

  it('--log-format pretty: the URL on stdout, one text line per event on stderr, no JSON, no colour off a terminal', async () => {
    const r = await started(['--log-format', 'pretty']);
    expect(r.stdout.split('\n')[0]).toMatch(/^Sluice is running: http:\/\/127\.0\.0\.1:\d+\/ {2}\(database: sqlite; Ctrl-C to stop\)$/);
    const lines = logOf(r.stderr);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(PRETTY_LINE);
    expect(r.stderr).not.toMatch(ANSI);
    expect(lines.find((l) => l.includes('sluice started'))).toMatch(/ INFO {2}sluice started {2}url=http:\/\/127\.0\.0\.1:\d+\/ database=sqlite/);
  }, 120_000);

  it('--log-format json (and the default off a terminal): one JSON record per line', async () => {
    for (const extra of [['--log-format', 'json'], []]) {
      const r = await started(extra);
      const lines = logOf(r.stderr);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.every((l) => l.startsWith('{'))).toBe(true);
      expect(logLines(r.stderr).find((l) => l.msg === 'sluice started')).toMatchObject({ level: 30, database: 'sqlite' });
    }
  }, 180_000);

  it('a bad --log-format or SLUICE_LOG_FORMAT is refused, naming the value and the choices', async () => {
    const r = await runSluice(['--log-format', 'xml', 'status'], { cwd: dir });
    expect(r.code).toBe(64); // a usage error
    expect(r.stderr).toMatch(/--log-format.*'xml' is invalid\. Allowed choices are json, pretty/);
    const env = await runSluice(['--config', config, '--db', `sqlite:${path.join(dir, 'env.db')}`, 'status'], { cwd: dir, env: { SLUICE_LOG_FORMAT: 'xml' } });
    expect(env.code).toBe(64);
    expect(env.stderr.trim().split('\n')).toHaveLength(1);
    expect(env.stderr).toMatch(/SLUICE_LOG_FORMAT: "xml" is invalid: must be one of json, pretty/);
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal (a pty): the URL line first, then coloured pretty lines',
    async () => {
      const cmd = [process.execPath, SLUICE_BIN, ...args('pty.db')].map((a) => `'${a}'`).join(' ');
      const child = spawn('/usr/bin/script', ['-qfec', cmd, '/dev/null'], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, SLUICE_LOG_FORMAT: undefined, SLUICE_LOG_LEVEL: undefined },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      const deadline = Date.now() + 60_000;
      while (!out.includes('sluice started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
      expect(out).toContain('sluice started');
      expect(out).toMatch(ANSI); // coloured
      const lines = out
        .replace(/\r/g, '')
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines[0]).toMatch(/^Sluice is running: http:\/\/127\.0\.0\.1:\d+\//);
      for (const line of lines.slice(1)) expect(line.replace(ANSI, '')).toMatch(PRETTY_LINE);
    },
    120_000,
  );
});
