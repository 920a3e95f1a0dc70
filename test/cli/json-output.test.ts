import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonOutput } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

describe('read-only commands with --json print one JSON document', () => {
  it('under a parent that also declares --json (`backfill list`), the flag still reaches the subcommand', async () => {
    env = new TestEnv();
    // Before: commander gave `--json` to `backfill` itself and `list` printed "no backfills".
    expect(parseJsonOutput<Record<string, unknown>>(await env.cliOk(['backfill', 'list', '--json']))).toMatchObject({ backfills: [], total: 0 });
    expect((await env.cliOk(['backfill', 'list'])).stdout).toMatch(/no backfills/);
    expect(parseJsonOutput<unknown[]>(await env.cliOk(['schedule', 'list', '--json']))).toBeInstanceOf(Array);
    expect(parseJsonOutput<Record<string, unknown>>(await env.cliOk(['status', '--json']))).toMatchObject({ database: 'sqlite' });
  });
});
