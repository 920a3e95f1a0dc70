import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../src/config/load-config.js';
import { PermanentError } from '../../src/core/errors.js';
import { substituteArgv, valueProblem } from '../../src/domains/ops/command-pipeline.js';
import { startHarness, waitFor, type Harness } from '../api/support/harness.js';
import { killStarted } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';
import { expectBadRequest, expectRefused } from './support.js';

/**
 * Only the config names programs. Through every way work gets in (the REST API, the CLI's
 * `enqueue`, a schedule, a backfill), a caller can supply values the config declared and
 * nothing else: no program, no arguments forming one, no working directory, no environment.
 * Each attempt is refused with the field named, and the queue stays empty.
 */

/** A command pipeline with a value placeholder: `printf '<%s>' VALUE`, no shell anywhere. */
const ECHO = {
  domain: 'test',
  name: 'echo',
  command: ['printf', '<%s>', '{who}'],
  partition: { who: 'text' },
  retry: { max_attempts: 1 },
};
/** Dated, with a params value too, for backfills. */
const DAILY = {
  domain: 'test',
  name: 'daily',
  command: ['printf', '%s %s', '{day}', '{label}'],
  partition: { day: 'date' },
  params: { label: { enum: ['full', 'quick'] } },
  retry: { max_attempts: 1 },
};

describe('REST API cannot make Sluice run a program the config did not name', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { pipelines: [ECHO, DAILY] }, worker: {} });
  });
  afterAll(async () => {
    await h.close();
  });
  const enqueue = (body: unknown) => h.call('POST', '/api/v1/work/enqueue', { body });

  it('the old exploit: ops.command with params.argv is an unknown pipeline, nothing enqueued', async () => {
    const marker = path.join(h.dir, 'pwned');
    const res = await enqueue({ pipeline: 'ops.command', partition: { k: 'x' }, params: { argv: ['sh', '-c', `id > ${marker}`] } });
    expectBadRequest(res, 'pipeline', /registered pipeline/);
    expect(res.text).not.toContain('ops.command,');
    expect(await h.app.store.countItems()).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  const refused: [string, unknown, string, RegExp][] = [
    [
      'params.argv on a command pipeline',
      { pipeline: 'test.echo', partition: { who: 'x' }, params: { argv: ['sh', '-c', 'id'] } },
      'params.argv',
      /must not be present: unknown field/,
    ],
    [
      'params.env (LD_PRELOAD, PATH)',
      { pipeline: 'test.echo', partition: { who: 'x' }, params: { env: { LD_PRELOAD: '/tmp/evil.so' } } },
      'params.env',
      /must not be present: unknown field/,
    ],
    ['params.cwd', { pipeline: 'test.echo', partition: { who: 'x' }, params: { cwd: '/' } }, 'params.cwd', /must not be present: unknown field/],
    [
      'params.command',
      { pipeline: 'test.daily', partition: { day: '2026-01-05' }, params: { label: 'full', command: ['id'] } },
      'params.command',
      /must not be present: unknown field/,
    ],
    ['a value posing as an option', { pipeline: 'test.echo', partition: { who: '--version' } }, 'partition.who', /not starting with "-"/],
    ['a value posing as a path out', { pipeline: 'test.echo', partition: { who: '../../etc/passwd' } }, 'partition.who', /without "\/"/],
    [
      'a partition key the config did not declare',
      { pipeline: 'test.echo', partition: { who: 'x', program: 'sh' } },
      'partition.program',
      /must not be present: unknown field/,
    ],
    [
      'a params value outside its enum',
      { pipeline: 'test.daily', partition: { day: '2026-01-05' }, params: { label: 'full; id' } },
      'params.label',
      /one of full, quick/,
    ],
    ['a placeholder params value left out', { pipeline: 'test.daily', partition: { day: '2026-01-05' } }, 'params.label', /./],
  ];
  it.each(refused)('%s: 400 naming the field, nothing enqueued', async (_name, body, field, rule) => {
    expectBadRequest(await enqueue(body), field, rule);
    // The batch form is refused as a whole too.
    expectBadRequest(await enqueue({ items: [{ pipeline: 'test.echo', partition: { who: 'fine' } }, body] }), `[1].${field}`);
    expect(await h.app.store.countItems()).toBe(0);
  });

  it('a declared value reaches the program as one argv entry, never through a shell', async () => {
    const res = await enqueue({ pipeline: 'test.echo', partition: { who: 'a b;$(id) `id` | id' } });
    expect(res.status).toBe(201);
    h.worker!.start();
    const item = await waitFor(async () => {
      const i = await h.app.store.getItem(res.body.item.id);
      return i && i.state === 'COMPLETE' ? i : null;
    });
    const attempts = await h.app.store.listAttempts(item.id);
    expect(attempts[0]!.outputTail).toBe('<a b;$(id) `id` | id>');
  });
});

describe('CLI enqueue, backfill and schedules cannot either', () => {
  let env: TestEnv | undefined;
  afterEach(async () => {
    await killStarted();
    env?.cleanup();
    env = undefined;
  });

  it('sluice enqueue: ops.command, params.argv/env and option-like values are refused with the field named; the queue stays empty', async () => {
    env = new TestEnv({ pipelines: [ECHO, DAILY] });
    const marker = path.join(env.dir, 'pwned');
    expectRefused(
      await env.cli(['enqueue', 'ops.command', '--partition', 'k=x', '--params', JSON.stringify({ argv: ['touch', marker] })]),
      'pipeline',
      /registered pipeline/,
    );
    expectRefused(await env.cli(['enqueue', 'test.echo', '--partition', 'who=x', '--params', JSON.stringify({ argv: ['touch', marker] })]), 'params.argv');
    expectRefused(await env.cli(['enqueue', 'test.echo', '--partition', 'who=x', '--params', JSON.stringify({ env: { PATH: env.dir } })]), 'params.env');
    expectRefused(await env.cli(['enqueue', 'test.echo', '--partition', 'who=-rf']), 'partition.who', /not starting with "-"/);
    expect(env.counts().items).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it('sluice backfill: params the config did not declare, and bad values, are refused before anything is enqueued', async () => {
    env = new TestEnv({ pipelines: [ECHO, DAILY] });
    const args = ['backfill', 'test.daily', '--partition-range', 'day=2026-01-05..2026-01-09'];
    expectRefused(await env.cli([...args, '--params', JSON.stringify({ label: 'full', argv: ['id'] })]), 'params.argv');
    expectRefused(await env.cli([...args, '--params', JSON.stringify({ label: 'full', env: { LD_PRELOAD: 'x' } })]), 'params.env');
    expectRefused(await env.cli([...args, '--params', JSON.stringify({ label: '--exec=id' })]), 'params.label', /one of full, quick/);
    expectRefused(
      await env.cli(['backfill', 'test.echo', '--partition-range', 'who=1..3', '--partition', 'extra=-x']),
      'partitions[0].extra',
      /must not be present: unknown field/,
    );
    expect(env.counts().items).toBe(0);
    // The declared form works: five sessions, one argv value each.
    const ok = await env.cliOk([...args, '--params', JSON.stringify({ label: 'quick' }), '--json']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ total: 5, created: 5 });
  });

  it('a schedule naming ops.command, or params/partitions the pipeline did not declare, is a config error; no database is created', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', pipeline: 'ops.command', cron: '* * * * *', params: { argv: ['sh', '-c', 'id'] } }, 'schedules[0] (x).pipeline'],
      [{ name: 'x', pipeline: 'test.echo', cron: '* * * * *', partitions: { who: 'me' }, params: { argv: ['id'] } }, 'schedules[0] (x).params.argv'],
      [{ name: 'x', pipeline: 'test.echo', cron: '* * * * *', partitions: { who: '--exec' } }, 'schedules[0] (x).partitions.who'],
    ];
    for (const [schedule, field] of cases) {
      env = new TestEnv({ pipelines: [ECHO, DAILY], schedules: [schedule] });
      expectRefused(await env.cli(['schedule', 'list']), field);
      expect(existsSync(env.dbPath)).toBe(false);
      env.cleanup();
      env = undefined;
    }
  });
});

describe('the config itself: placeholders name declared keys, the program is fixed', () => {
  const parse = (pipeline: Record<string, unknown>) => () => parseConfigObject({ pipelines: [pipeline] }, 'sluice.config.json');
  it('a placeholder naming an undeclared key is a config error naming the argv entry', () => {
    expect(parse({ domain: 'a', name: 'b', command: ['printf', '%s', '{day}'] })).toThrow(
      /sluice\.config\.json: pipelines\[0\]\.command\[2\]: "\{day\}" is invalid: must name a key declared in this pipeline's "partition" or "params" \(declared: none\)/,
    );
    expect(parse({ domain: 'a', name: 'b', command: ['printf', '%s', '{day}'], partition: { date: 'date' } })).toThrow(
      /command\[2\].*\(declared: partition\.date\)/,
    );
  });
  it('the program cannot be a placeholder', () => {
    expect(parse({ domain: 'a', name: 'b', command: ['{prog}', 'x'], params: { prog: 'text' } })).toThrow(
      /pipelines\[0\]\.command\[0\]: "\{prog\}" is invalid: must be a fixed program/,
    );
  });
  it('partition/params/cwd/env without a command are refused, not ignored', () => {
    expect(parse({ domain: 'ops', name: 'sleep', params: { ms: 'integer' } })).toThrow(/pipelines\[0\]\.params: .* is only for command pipelines/);
    expect(parse({ domain: 'ops', name: 'sleep', env: { A: 'b' } })).toThrow(/pipelines\[0\]\.env: .* is only for command pipelines/);
  });
  it('a key declared in both partition and params is refused; {{key}} is a literal', () => {
    expect(parse({ domain: 'a', name: 'b', command: ['x', '{k}'], partition: { k: 'text' }, params: { k: 'text' } })).toThrow(
      /pipelines\[0\]\.params\.k: .*must not repeat a partition key/,
    );
    expect(parse({ domain: 'a', name: 'b', command: ['printf', '{{k}}'] })).not.toThrow();
  });
});

describe('substitution and value kinds', () => {
  it('each placeholder becomes exactly one argv entry; {{k}} is literal; the program is never substituted; a missing value fails for good', () => {
    expect(substituteArgv(['run', '{a}', '--x={a}', '{{a}}', '{b}'], { a: 'two words; $(id)' }, { b: '7' })).toEqual([
      'run',
      'two words; $(id)',
      '--x={a}',
      '{a}',
      '7',
    ]);
    expect(substituteArgv(['{a}', 'x'], { a: 'sh' }, {})).toEqual(['{a}', 'x']);
    expect(() => substituteArgv(['run', '{gone}'], {}, {})).toThrow(PermanentError);
  });
  it('value kinds', () => {
    expect(valueProblem('date', '2026-02-30')).toMatch(/date/);
    expect(valueProblem('week_ending', '2025-12-18')).toMatch(/Friday/);
    expect(valueProblem('week_ending', '2025-12-19')).toBeNull();
    expect(valueProblem('session', '2025-12-25')).toMatch(/closed: Christmas/);
    expect(valueProblem('session', '2025-12-24')).toBeNull();
    expect(valueProblem('integer', '12a')).toMatch(/integer/);
    for (const bad of ['-x', 'a/b', 'a\\b', '..', 'a..b', 'line\nbreak', '', 'x'.repeat(201)]) expect(valueProblem('text', bad), bad).not.toBeNull();
    expect(valueProblem('text', 'NMS Tier 1')).toBeNull();
    expect(valueProblem({ enum: ['a', 'b'] }, 'c')).toMatch(/one of a, b/);
    expect(valueProblem({ pattern: '[A-Z]{1,5}' }, 'AAPL;')).toMatch(/must match/);
    expect(valueProblem({ pattern: '[A-Z]{1,5}' }, 'AAPL')).toBeNull();
  });
});
