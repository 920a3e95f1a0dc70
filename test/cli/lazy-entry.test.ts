import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgramFor, COMMAND_MODULES, requestedCommand } from '../../src/cli/entry.js';
import { buildProgram } from '../../src/cli/main.js';

/** What a program prints for `ARGS…`, and how it ends (commander throws on --help). */
async function output(program: Command, args: string[]): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  let out = '';
  let err = '';
  const capture = (cmd: Command): void => {
    cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    cmd.commands.forEach(capture);
  };
  capture(program);
  try {
    await program.parseAsync(['node', 'sluice', ...args]);
    return { out, err, exitCode: undefined };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

/** The lazy CLI (entry.ts) must behave as the program with every command loaded. */
describe('the CLI loads only the command asked for', () => {
  it('its table lists every top-level command of buildProgram(), in order, with the same term and description', () => {
    const full = buildProgram();
    const help = full.createHelp();
    const expected = full.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description(), aliases: c.aliases() }));
    expect(COMMAND_MODULES.flatMap((m) => m.commands).map((c) => ({ ...c, aliases: [...(c.aliases ?? [])] }))).toEqual(expected);
  });

  it('prints the same help for the program and every command path, and the same unknown-command error', async () => {
    const paths = [[], ...commandPaths(buildProgram())];
    for (const p of paths) {
      const args = [...p, '--help'];
      expect(await output(await buildProgramFor(['node', 'sluice', ...args]), args), args.join(' ')).toEqual(await output(buildProgram(), args));
    }
    for (const args of [['stauts'], ['help', 'work'], ['--db', 'sqlite:x.db', 'work', '--help'], ['--version']]) {
      expect(await output(await buildProgramFor(['node', 'sluice', ...args]), args), args.join(' ')).toEqual(await output(buildProgram(), args));
    }
  });

  it('finds the command word past global options', () => {
    expect(requestedCommand(['--db', 'sqlite:q.db', 'status', '--json'])).toBe('status');
    expect(requestedCommand(['--db=sqlite:q.db', '-c', 'x.json', '--log-level', 'warn', 'work', 'list'])).toBe('work');
    expect(requestedCommand(['help', 'enqueue'])).toBe('enqueue');
    expect(requestedCommand(['--help'])).toBeUndefined();
    expect(requestedCommand([])).toBeUndefined();
  });
});
