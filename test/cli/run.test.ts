import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, parseJsonOutput } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';

/** `sluice run`: the run-result contract other tools parse, and its exit codes. */
let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

interface RunResultJson {
  schema_version: string;
  domain: string;
  scheduler: string;
  started_at: string;
  finished_at: string;
  status: string;
  stats: { attempted: number; succeeded: number; failed: number; skipped: number };
  runs: Record<string, unknown>[];
  anomalies: unknown[];
  warnings: unknown[];
  config: Record<string, unknown>;
}

const TOP_KEYS = ['schema_version', 'domain', 'scheduler', 'started_at', 'finished_at', 'status', 'stats', 'runs', 'anomalies', 'warnings', 'config'];
const RUN_KEYS = ['pipeline', 'partition_key', 'status', 'duration_ms', 'capture_id', 'row_count', 'is_revision', 'revision_summary'];
// The scheduler ops guide's form, `2025-01-01T00:01:30Z` (UTC, whole seconds).
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function expectContract(result: RunResultJson): void {
  for (const key of TOP_KEYS) expect(result, `run result has ${key}`).toHaveProperty(key);
  expect(result.schema_version).toBe('1.0.0');
  expect(typeof result.domain).toBe('string');
  expect(typeof result.scheduler).toBe('string');
  expect(result.started_at).toMatch(ISO);
  expect(result.finished_at).toMatch(ISO);
  expect(Date.parse(result.finished_at)).toBeGreaterThanOrEqual(Date.parse(result.started_at));
  expect(['success', 'failure', 'partial', 'dry_run']).toContain(result.status);
  expect(Object.keys(result.stats).sort()).toEqual(['attempted', 'failed', 'skipped', 'succeeded']);
  for (const v of Object.values(result.stats)) expect(Number.isInteger(v)).toBe(true);
  expect(Array.isArray(result.runs)).toBe(true);
  expect(Array.isArray(result.anomalies)).toBe(true);
  expect(Array.isArray(result.warnings)).toBe(true);
  expect(typeof result.config).toBe('object');
  for (const run of result.runs) {
    for (const key of RUN_KEYS) expect(run, `run entry has ${key}`).toHaveProperty(key);
    expect(typeof run.duration_ms).toBe('number');
    expect(typeof run.is_revision).toBe('boolean');
  }
}

describe('sluice run', () => {
  it('success prints the contract and exits 0; a COMPLETE partition is skipped on re-run unless --force', async () => {
    env = new TestEnv();
    const first = await env.cli(['run', 'ops.sleep', '--partition', 'day=2026-01-05', '--params', '{"ms":20}', '--json']);
    expect(first.code).toBe(0);
    const r1 = parseJsonOutput<RunResultJson>(first);
    expectContract(r1);
    expect(r1).toMatchObject({ domain: 'ops', status: 'success', stats: { attempted: 1, succeeded: 1, failed: 0, skipped: 0 }, anomalies: [], warnings: [] });
    expect(r1.runs).toHaveLength(1);
    expect(r1.runs[0]).toMatchObject({
      pipeline: 'ops.sleep',
      partition_key: '2026-01-05',
      sluice_partition_key: 'day=2026-01-05',
      status: 'completed',
      capture_id: null,
      row_count: null,
      is_revision: false,
      revision_summary: null,
    });
    expect(r1.runs[0]!.duration_ms).toBeGreaterThanOrEqual(20);
    const [item] = env.items();
    expect(item).toMatchObject({ state: 'COMPLETE', partition_key: 'day=2026-01-05' });

    const again = await env.cli(['run', 'ops.sleep', '--partition', 'day=2026-01-05', '--json']);
    expect(again.code).toBe(0);
    const r2 = parseJsonOutput<RunResultJson>(again);
    expectContract(r2);
    expect(r2.stats).toEqual({ attempted: 0, succeeded: 0, failed: 0, skipped: 1 });
    expect(r2.runs[0]).toMatchObject({ status: 'skipped', partition_key: '2026-01-05' });
    expect(String(r2.runs[0]!.reason)).toMatch(/already complete/);
    expect(env.attempts(item!.id)).toHaveLength(1);

    const forced = await env.cli(['run', 'ops.sleep', '--partition', 'day=2026-01-05', '--force']);
    expect(forced.code).toBe(0);
    // Without --json: one line per run and a summary, for humans.
    expect(forced.stdout).toMatch(/^completed\s+ops\.sleep \[day=2026-01-05\] \d+ms/m);
    expect(forced.stdout).toMatch(/^success: 1 succeeded, 0 failed, 0 skipped$/m);
    expect(env.attempts(item!.id).map((t) => [t.attempt_no, t.status])).toEqual([
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
  });

  it('exits 1 when every partition failed; the item keeps its remaining retries (RETRY_WAIT)', async () => {
    env = new TestEnv();
    const r = await env.cli(['run', 'ops.fail', '--partition', 'case=x', '--json']);
    expect(r.code).toBe(1);
    const result = parseJsonOutput<RunResultJson>(r);
    expectContract(result);
    expect(result).toMatchObject({ status: 'failure', stats: { attempted: 1, succeeded: 0, failed: 1, skipped: 0 } });
    expect(result.runs[0]).toMatchObject({ status: 'failed', pipeline: 'ops.fail', partition_key: 'x' });
    expect(String(result.runs[0]!.error)).toMatch(/deliberate failure/);
    expect(env.items()[0]).toMatchObject({ state: 'RETRY_WAIT', attempts: 1 });
  });

  it('exits 2 when some partitions fail and others succeed (partial)', async () => {
    env = new TestEnv({
      pipelines: [
        {
          domain: 'test',
          name: 'picky',
          command: ['sh', '-c', 'if [ "$SLUICE_PARTITION_KEY" = "case=bad" ]; then echo "bad partition" >&2; exit 4; fi'],
          retry: { max_attempts: 1 },
        },
      ],
    });
    const r = await env.cli(['run', 'test.picky', '--partition', 'case=good', '--partition', 'case=bad', '--json']);
    expect(r.code).toBe(2);
    const result = parseJsonOutput<RunResultJson>(r);
    expectContract(result);
    expect(result).toMatchObject({ domain: 'test', status: 'partial', stats: { attempted: 2, succeeded: 1, failed: 1, skipped: 0 } });
    expect(result.runs.map((x) => [x.sluice_partition_key, x.status])).toEqual([
      ['case=good', 'completed'],
      ['case=bad', 'failed'],
    ]);
    expect(result.runs[1]!.error).toBe('sh exited with code 4');
    expect(env.items().map((i) => [i.partition_key, i.state])).toEqual([
      ['case=good', 'COMPLETE'],
      ['case=bad', 'FAILED'],
    ]);
  });

  it('--mode dry-run exits 0, reports what would run and enqueues nothing', async () => {
    env = new TestEnv();
    const r = await env.cli(['run', 'ops.noop', '--partition', 'day=1', '--partition', 'day=2', '--mode', 'dry-run', '--json']);
    expect(r.code).toBe(0);
    const result = parseJsonOutput<RunResultJson>(r);
    expectContract(result);
    expect(result.status).toBe('dry_run');
    expect(result.stats).toEqual({ attempted: 0, succeeded: 0, failed: 0, skipped: 0 });
    expect(result.runs.map((x) => [x.partition_key, x.status])).toEqual([
      ['1', 'dry_run'],
      ['2', 'dry_run'],
    ]);
    expect(env.counts()).toEqual({ items: 0, attempts: 0, events: 0 });
  });
});
