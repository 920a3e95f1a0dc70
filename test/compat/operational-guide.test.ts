import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, killStarted, startSluice } from '../helpers/process.js';

/**
 * The operational scheduling guide (seed 003) run as its users run it: its bash cron script
 * verbatim against `sluice start` on SQLite, its Python backfill loop, its failed-work
 * monitor (`jq '.failed | length'`), manual retry and cancel by `work_item_id`, and its
 * manifest readiness check. Two lines of the script are bent to the test: API_BASE points
 * at the test's port and `sleep 300` reads CRON_SLEEP.
 */
const GUIDE = readFileSync('/work/shared/seeds/003_ce517eda906863c1.txt', 'utf8');

function block(after: string, lang: string): string {
  const start = GUIDE.indexOf('```' + lang, GUIDE.indexOf(after));
  const body = GUIDE.slice(start + 3 + lang.length + 1);
  return body.slice(0, body.indexOf('```'));
}

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

describe('the operational scheduling guide against sluice start', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-guide-'));
  afterAll(async () => {
    await killStarted();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the cron script, backfill loop, failed-work monitor, retry, cancel and manifest check', async () => {
    // The week the script computes (date -d "last Friday"): its files are the bundled week 2025-12-19, re-dated.
    const week = execFileSync('date', ['-d', 'last Friday', '+%Y-%m-%d'], { encoding: 'utf8' }).trim();
    const monday = addDays(week, 3);
    const data = path.join(dir, 'finra');
    execFileSync('mkdir', ['-p', data]);
    const stamp = week.replace(/-/g, '');
    for (const [from, to] of [
      ['tier1_20251219.csv', `tier1_${stamp}.csv`],
      ['tier2_20251219.csv', `tier2_${stamp}.csv`],
      ['otc_20251222.csv', `otc_${stamp}.csv`],
    ] as const) {
      writeFileSync(path.join(data, to), readFileSync(path.join(REPO_ROOT, 'fixtures/finra', from), 'utf8').replaceAll('2025-12-22', monday));
    }
    // The backfill range (2025-10-01..2025-12-22) finds the bundled weeks 2025-12-05 and 2025-12-19 for some tiers.
    for (const f of readdirSync(path.join(REPO_ROOT, 'fixtures/finra')))
      if (f.endsWith('.csv')) copyFileSync(path.join(REPO_ROOT, 'fixtures/finra', f), path.join(data, f));
    // Week 2025-11-28 of tiers 1 and 2 arrives damaged (wrong header): those ingests fail for good.
    for (const stem of ['tier1', 'tier2'])
      copyFileSync(path.join(REPO_ROOT, 'test/fixtures/finra/wrong_header_tier1_20251219.csv'), path.join(data, `${stem}_20251128.csv`));
    const config = path.join(dir, 'sluice.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        database: `sqlite:${path.join(dir, 'guide.db')}`,
        workers: { concurrency: 4, lease: '5s', poll_interval: '100ms', shutdown_grace: '300ms' },
        access: { data_roots: [dir] },
      }),
    );
    const server = startSluice(['--config', config, '--log-level', 'warn', 'start', '--port', '0'], { env: { SLUICE_FINRA_DATA_DIR: data } });
    let url = '';
    for (let i = 0; i < 300 && !url; i++) {
      url = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(server.stdout)?.[1] ?? '';
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, server.stderr).not.toBe('');
    const api = `${url}/api/v1`;
    const get = async (p: string) => (await fetch(`${api}${p}`)).json() as Promise<Record<string, any>>;
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${api}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    // Missing weeks wait for FINRA to publish (RETRY_WAIT, minutes apart), and their downstream
    // items stay WAITING, so later phases settle on the ingest items that can still run now.
    const settle = async (filter = '') => {
      for (let i = 0; i < 600; i++) {
        const open = await get(`/work/pending?state=${filter ? 'PENDING,RUNNING' : 'PENDING,RUNNING,WAITING'}&limit=1${filter}`);
        if (open.total === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('queue did not settle');
    };

    // 1. The cron script, verbatim but for API_BASE and the sleep.
    const script = block('Option 1: Simple Bash Script', 'bash')
      .replace('API_BASE="http://localhost:8000/api/v1"', 'API_BASE="$SLUICE_API_BASE"')
      .replaceAll('sleep 300', 'sleep ${CRON_SLEEP:-300}');
    const cron = spawnSync('bash', ['-c', script], { env: { ...process.env, SLUICE_API_BASE: api, CRON_SLEEP: '1' }, encoding: 'utf8' });
    expect(cron.status).toBe(0);
    expect(cron.stdout).toContain(`Enqueued FINRA OTC pipeline for week ending ${week}`);
    expect(cron.stdout).not.toContain('"error"');
    await settle();
    for (const p of ['ingest_week', 'normalize_week']) {
      const done = await get(`/work/pending?state=COMPLETE&pipeline=finra.otc_transparency.${p}&limit=100`);
      expect(
        done.items
          .filter((i: any) => i.partition.week_ending === week)
          .map((i: any) => i.partition.tier)
          .sort(),
      ).toEqual(['NMS_TIER_1', 'NMS_TIER_2', 'OTC']);
    }
    for (const calc of ['compute_venue_volume', 'compute_venue_share', 'compute_hhi', 'compute_tier_split']) {
      const done = await get(`/work/pending?state=COMPLETE&pipeline=finra.otc_transparency.${calc}`);
      expect(done.items.map((i: any) => i.partition)).toContainEqual({ week_ending: week }); // one item per week (all tiers)
    }

    // 2. The manifest readiness check, as the guide's Python does it.
    const ready = spawnSync(
      'python3',
      [
        '-c',
        `import json, requests\nr = requests.get("${api}/manifest", params={"domain": "finra.otc_transparency", "partition_key": json.dumps({"week_ending": "${week}", "tier": "NMS_TIER_1"}), "stage": "RAW"})\nprint(r.json().get("row_count", 0))`,
      ],
      { encoding: 'utf8' },
    );
    expect(Number(ready.stdout.trim())).toBeGreaterThan(0);
    const notReady = await get(
      `/manifest?domain=finra.otc_transparency&partition_key=${encodeURIComponent(JSON.stringify({ week_ending: '2025-11-28', tier: 'OTC' }))}&stage=NORMALIZED`,
    );
    expect(notReady.row_count).toBe(0);

    // 3. The backfill loop, verbatim but for api_base.
    const backfill = block('### Week Range', 'python').replace('api_base = "http://localhost:8000/api/v1"', `api_base = "${api}"`);
    const bf = spawnSync('python3', ['-c', backfill], { encoding: 'utf8' });
    expect(bf.status).toBe(0);
    expect(bf.stdout.match(/✓ Enqueued/g)).toHaveLength(12 * 3); // 12 Fridays from 2025-10-03 to 2025-12-19, 3 tiers
    expect(bf.stdout).not.toMatch(/: 4\d\d/);
    const ingestOnly = '&pipeline=finra.otc_transparency.ingest_week';
    await settle(ingestOnly);

    // 4. The failed-work monitor: the damaged week failed for good; missing weeks are still retrying.
    const failedApi = await get('/work/pending?state=FAILED&limit=1000');
    expect(failedApi.failed.map((f: any) => f.partition_key)).toEqual(
      expect.arrayContaining([
        { week_ending: '2025-11-28', tier: 'NMS_TIER_1' },
        { week_ending: '2025-11-28', tier: 'NMS_TIER_2' },
      ]),
    );
    expect((await get('/work/pending?state=RETRY_WAIT&limit=1000')).retry_wait.length).toBeGreaterThan(0);
    const entry = failedApi.failed[0];
    expect(entry).toMatchObject({ state: 'FAILED', domain: 'finra.otc_transparency', pipeline: 'ingest_week' });
    expect(typeof entry.partition_key).toBe('object');
    expect(entry.attempt_count).toBeGreaterThan(0);
    expect(entry.last_error).toMatch(/header/i);
    expect(Date.parse(entry.last_error_at)).not.toBeNaN();
    const jq = spawnSync('bash', ['-c', `curl -s "${api}/work/pending?state=FAILED&limit=1000" | jq '.failed | length'`], { encoding: 'utf8' });
    expect(Number(jq.stdout.trim())).toBe(failedApi.failed.length);

    // 5. Manual retry by id and by domain; cancel by id.
    const retried = await post('/work/retry', { work_item_id: entry.id });
    expect(retried.status).toBe(200);
    expect(retried.body.items[0]).toMatchObject({ id: entry.id, state: 'PENDING' });
    await settle(ingestOnly);
    const byDomain = await post('/work/retry', { domain: 'finra.otc_transparency' });
    expect(byDomain.body.retried).toBe(failedApi.failed.length);
    const later = await post('/work/enqueue', {
      domain: 'finra.otc_transparency',
      pipeline: 'ingest_week',
      partition_key: { week_ending: '2025-09-26', tier: 'OTC' },
      desired_at: '2099-01-01T00:00:00Z',
      priority: 50,
    });
    expect(later.status).toBe(201);
    const cancelled = await post('/work/cancel', { work_item_id: later.body.work_item_id });
    expect(cancelled.body).toMatchObject({ changed: true, item: { state: 'CANCELLED' } });
  }, 120_000);
});
