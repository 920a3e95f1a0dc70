import { CommanderError, type Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { killStarted, runSluice } from '../helpers/process.js';

/** Every command path the real program defines (`['work', 'list']`, …), found by walking
 * the same commander tree the CLI runs, so a newly added command is covered automatically. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const here = [...prefix, c.name()];
    return [here, ...commandPaths(c, here)];
  });
}

/** Parses `PATH… --help` with the real program, capturing what it prints. */
async function helpInProcess(path: string[]): Promise<{ exitCode: number | undefined; out: string; err: string }> {
  const program = buildProgram();
  let out = '';
  let err = '';
  const capture = (cmd: Command): void => {
    cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    cmd.commands.forEach(capture);
  };
  capture(program);
  try {
    await program.parseAsync(['node', 'sluice', ...path, '--help']);
    return { exitCode: undefined, out, err };
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode, out, err };
    throw e;
  }
}

afterAll(killStarted);

describe('--help', () => {
  const paths = commandPaths(buildProgram());

  it('the program defines the documented commands', () => {
    const names = paths.map((p) => p.join(' '));
    for (const expected of ['start', 'worker', 'enqueue', 'run', 'work', 'work list', 'work show', 'work retry', 'work cancel', 'status', 'pipelines']) {
      expect(names).toContain(expected);
    }
  });

  it('real processes: `sluice --help` and `sluice COMMAND --help` for the core commands exit 0 with usage on stdout', async () => {
    const all = [[], ...['start', 'worker', 'enqueue', 'run', 'work', 'status', 'pipelines'].map((c) => [c])];
    const results: { path: string[]; code: number | null; stdout: string; stderr: string }[] = [];
    for (let i = 0; i < all.length; i += 4) {
      const batch = all.slice(i, i + 4);
      results.push(...(await Promise.all(batch.map(async (p) => ({ path: p, ...(await runSluice([...p, '--help'])) })))));
    }
    for (const r of results) {
      const label = `sluice ${r.path.join(' ')} --help`;
      expect(r.code, `${label}\n${r.stderr}`).toBe(0);
      expect(r.stderr, label).toBe('');
      expect(r.stdout, label).toContain(`Usage: sluice${r.path.length ? ` ${r.path.join(' ')}` : ''}`);
      expect(r.stdout, label).toMatch(/-h, --help\s+display help for command/);
    }
  });

  it('every command and subcommand the program defines prints its help and ends with exit code 0', async () => {
    expect(paths.length).toBeGreaterThanOrEqual(11);
    for (const p of paths) {
      const r = await helpInProcess(p);
      expect(r.exitCode, p.join(' ')).toBe(0);
      expect(r.err, p.join(' ')).toBe('');
      expect(r.out, p.join(' ')).toContain(`Usage: sluice ${p.join(' ')}`);
    }
    // A real process for a subcommand too, end to end.
    const r = await runSluice(['work', 'list', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: sluice work list[\s\S]*--state <state>/);
  });

  it('an unknown command is a usage error: exit 64 (EX_USAGE), message on stderr', async () => {
    const r = await runSluice(['frobnicate']);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
