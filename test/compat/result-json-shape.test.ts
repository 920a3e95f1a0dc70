import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cliInProcess } from '../helpers/in-process-cli.js';
import { TEST_ACCESS, TestEnv } from '../helpers/sqlite.js';
import { FIXTURES, RESTATED } from '../domains/finra/support.js';

/**
 * A run result of `sluice finra --json` against the scheduler ops guide's example document
 * (seed 001, "JSON Schema"), key by key and value form by value form. The example shows a
 * restatement (`is_revision: true` with a revision summary), so the run compared here is
 * one: the week landed from the fixtures, then its restated file.
 */
const GUIDE = readFileSync('/work/shared/seeds/001_dd373e6406682f40.txt', 'utf8');
const example = JSON.parse(/### JSON Schema\s*```json\n([\s\S]*?)```/.exec(GUIDE)![1]!) as Record<string, any>;

/** The form of a value: its JSON type, and for strings the pattern the example's value has. */
function form(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v !== 'string') return typeof v;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(v)) return 'timestamp YYYY-MM-DDTHH:MM:SSZ';
  if (/^\d+\.\d+\.\d+$/.test(v)) return 'semver';
  if (/^\d{4}-\d{2}-\d{2}\|[A-Z0-9_]+$/.test(v)) return 'partition DATE|TIER';
  if (/^[a-z_.]+:[A-Z0-9_]+:\d{4}-\d{2}-\d{2}:\d{8}(#\d+)?$/.test(v)) return 'capture domain:TIER:DATE:YYYYMMDD';
  if (/^[a-z_]+(\.[a-z_]+)+$/.test(v)) return 'dotted name';
  return 'string';
}

/** Every key path of a document with the form of its value (arrays: their first element). */
function shape(v: unknown, at = ''): Map<string, string> {
  const out = new Map<string, string>([[at, form(v)]]);
  if (Array.isArray(v) && v.length) for (const [k, t] of shape(v[0], `${at}[]`)) out.set(k, t);
  else if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) for (const [p, t] of shape(x, `${at}.${k}`)) out.set(p, t);
  return out;
}

let env: TestEnv | undefined;
afterEach(() => env?.cleanup());

describe("sluice finra --json is the guide's SchedulerResult document", () => {
  it('has every key of the example with the same value form; the objects the example spells out have no others', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const args = (dir: string) =>
      env!.args([
        'finra',
        '--lookback-weeks',
        '1',
        '--as-of',
        '2025-12-22',
        '--tiers',
        'NMS_TIER_1',
        '--only-stage',
        'ingest',
        '--data-dir',
        dir,
        '--json',
        '--log-level',
        'ERROR',
      ]);
    const first = await cliInProcess(args(FIXTURES));
    expect(first.code, first.stderr).toBe(0);
    const res = await cliInProcess(args(RESTATED));
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as Record<string, any>;

    const want = shape(example);
    const got = shape(result);
    for (const [key, f] of want) {
      // The example's empty arrays say nothing about their elements.
      if (key === '.anomalies' || key === '.warnings') {
        expect(got.get(key), key).toBe('array');
        continue;
      }
      expect(got.get(key), key).toBe(f);
    }
    // stats and revision_summary are exactly the example's counters.
    expect(Object.keys(result.stats).sort()).toEqual(Object.keys(example.stats).sort());
    expect(Object.keys(result.runs[0].revision_summary).sort()).toEqual(Object.keys(example.runs[0].revision_summary).sort());

    // The values that are names, not data, are the example's.
    expect(result.schema_version).toBe('1.0.0');
    expect(result.domain).toBe(example.domain);
    expect(result.scheduler).toBe(example.scheduler);
    expect(result.status).toBe(example.status);
    expect(result.runs[0].pipeline).toBe(example.runs[0].pipeline);
    expect(result.runs[0].status).toBe(example.runs[0].status);
    expect(result.runs[0].is_revision).toBe(true);
    expect(result.runs[0].partition_key).toBe('2025-12-19|NMS_TIER_1');
    expect(result.config).toMatchObject({ lookback_weeks: 1, mode: 'run' });
    // A same-day restatement of a partition keeps the guide's id and adds `#2` (then `#3`, …).
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const firstId = JSON.parse(first.stdout).runs[0].capture_id;
    expect(firstId).toBe(`finra.otc_transparency:NMS_TIER_1:2025-12-19:${today}`);
    expect(result.runs[0].capture_id).toBe(`${firstId}#2`);
    expect(Date.parse(result.finished_at)).toBeGreaterThanOrEqual(Date.parse(result.started_at));
  }, 120_000);

  it('a prices run has the same document: scheduler daily_prices, the same keys and forms where they apply', async () => {
    env = new TestEnv({ access: TEST_ACCESS });
    const res = await cliInProcess(env.args(['prices', '--symbols', 'AAPL', '--date', '2025-12-19', '--source', 'mock', '--json', '--log-level', 'ERROR']));
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as Record<string, any>;
    const got = shape(result);
    for (const key of [
      '.schema_version',
      '.scheduler',
      '.started_at',
      '.finished_at',
      '.status',
      '.stats',
      '.runs',
      '.anomalies',
      '.warnings',
      '.config',
      '.runs[].pipeline',
      '.runs[].status',
      '.runs[].duration_ms',
      '.runs[].row_count',
      '.runs[].is_revision',
    ]) {
      expect(got.get(key), key).toBe(shape(example).get(key));
    }
    expect(result).toMatchObject({ schema_version: '1.0.0', domain: 'prices', scheduler: 'daily_prices', status: 'success' });
    expect(result.runs[0]).toMatchObject({ partition_key: '2025-12-19|AAPL', status: 'completed', row_count: 1 });
    expect(result.runs[0].capture_id).toMatch(/^prices:2025-12-19:AAPL:\d{8}$/);
  }, 120_000);
});
