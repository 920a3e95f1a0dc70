import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_DEMO_CONFIG } from '../../src/config/load-config.js';
import { killStarted, runSluice } from '../helpers/process.js';

/** `sluice` in a folder without a config: it says which config it would use and never
 * creates a database from the bundled demo config there without being told to. */
const dirs: string[] = [];
afterAll(async () => {
  await killStarted();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('no config file in the folder', () => {
  it('status refuses the bundled demo outside the repository, names it, and writes nothing', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-noconfig-'));
    dirs.push(dir);
    const r = await runSluice(['status', '--json'], { cwd: dir });
    expect(r.code).toBe(64);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`no sluice.config.json`);
    expect(r.stderr).toContain(BUNDLED_DEMO_CONFIG);
    expect(r.stderr).toContain('sluice init');
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(path.join(dir, 'sluice.db'))).toBe(false);
  });

  it('with an explicit --db the demo config is used, and stderr says so', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-noconfig-'));
    dirs.push(dir);
    const r = await runSluice(['--db', `sqlite:${path.join(dir, 'chosen.db')}`, 'status', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`using the bundled demo config ${BUNDLED_DEMO_CONFIG}`);
    expect(readdirSync(dir).every((f) => f.startsWith('chosen.db'))).toBe(true);
    expect(existsSync(path.join(dir, 'sluice.db'))).toBe(false);
  });

  it('--config naming the demo file is a choice: no fallback notice', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-noconfig-'));
    dirs.push(dir);
    const r = await runSluice(['--config', BUNDLED_DEMO_CONFIG, '--db', `sqlite:${path.join(dir, 'named.db')}`, 'status', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('no config file');
    expect(JSON.parse(r.stdout).database).toBe('sqlite');
  });
});
