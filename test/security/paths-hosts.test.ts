import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, HttpSource, SourceError } from '../../src/connectors/index.js';
import { buildEnqueueSpec } from '../../src/engine/enqueue.js';
import { startHarness, waitFor, type Harness } from '../api/support/harness.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { killStarted } from '../helpers/process.js';
import { TestEnv } from '../helpers/sqlite.js';
import { expectBadRequest, expectRefused } from './support.js';

/**
 * Items cannot make Sluice read or write outside its data roots, nor reach a host the config
 * did not allow. Every `data_dir`, `export_dir` and `base_url` an item carries is checked
 * when it is enqueued (API, `sluice enqueue`, a schedule, a backfill, the batch CLIs), with
 * the field named and nothing enqueued, and again when a worker runs it.
 */

const INGEST = 'finra.otc_transparency.ingest_week';
const WEEK = { week_ending: '2025-12-19', tier: 'OTC' };

/** A directory outside every data root, with a file worth stealing. */
let outside: string;
beforeAll(() => {
  outside = mkdtempSync(path.join(tmpdir(), 'sluice-outside-'));
  writeFileSync(path.join(outside, 'otc_20251219.csv'), 'secret\n');
});
afterAll(() => rmSync(outside, { recursive: true, force: true }));

describe('REST API: paths and hosts from params', () => {
  let h: Harness;
  beforeAll(async () => {
    // Default access policy: the config's directory is the only data root; no extra hosts.
    h = await startHarness({});
    mkdirSync(path.join(h.dir, 'data'));
    symlinkSync(outside, path.join(h.dir, 'data', 'escape'));
  });
  afterAll(async () => {
    await h.close();
  });
  const enqueue = (body: unknown) => h.call('POST', '/api/v1/work/enqueue', { body });

  const refused: [string, unknown, string, RegExp][] = [
    [
      'data_dir climbing out with ..',
      { pipeline: INGEST, partition: WEEK, params: { data_dir: 'data/../../etc' } },
      'params.data_dir',
      /must not contain "\.\."/,
    ],
    [
      'data_dir absolute outside the root',
      { pipeline: INGEST, partition: WEEK, params: { data_dir: '/etc' } },
      'params.data_dir',
      /must be inside a data root/,
    ],
    [
      'data_dir through a symlink',
      { pipeline: INGEST, partition: WEEK, params: { data_dir: 'data/escape' } },
      'params.data_dir',
      /must not pass through a symbolic link/,
    ],
    [
      'prices data_dir outside',
      { pipeline: 'prices.daily_ohlcv', partition: { date: '2025-12-19', symbol: 'AAPL' }, params: { source: 'file', data_dir: '/' } },
      'params.data_dir',
      /inside a data root/,
    ],
    [
      'fred data_dir outside',
      { pipeline: 'fred.ingest_bucket', partition: { date: '2025-12-19', bucket: 'fx' }, params: { source: 'file', data_dir: '/root' } },
      'params.data_dir',
      /inside a data root/,
    ],
    [
      'features export_dir outside (a write)',
      { pipeline: 'features.daily_matrix', partition: { date: '2025-12-19' }, params: { export_dir: '/tmp' } },
      'params.export_dir',
      /inside a data root/,
    ],
    [
      'finra base_url on a host not allowed',
      { pipeline: INGEST, partition: WEEK, params: { base_url: 'http://169.254.169.254/latest/' } },
      'params.base_url',
      /allowed host \(allowed: none\)/,
    ],
    [
      'prices base_url on another host',
      {
        pipeline: 'prices.daily_ohlcv',
        partition: { date: '2025-12-19', symbol: 'AAPL' },
        params: { source: 'alphavantage', base_url: 'http://127.0.0.1:6379' },
      },
      'params.base_url',
      /add "127\.0\.0\.1:6379" to the config's access\.allowed_hosts/,
    ],
    [
      'fred base_url with another scheme',
      { pipeline: 'fred.ingest_bucket', partition: { date: '2025-12-19', bucket: 'fx' }, params: { source: 'http', base_url: 'file:///etc/passwd' } },
      'params.base_url',
      /http\(s\)/,
    ],
    [
      'a vendor host with credentials',
      {
        pipeline: 'fred.ingest_bucket',
        partition: { date: '2025-12-19', bucket: 'fx' },
        params: { source: 'http', base_url: 'https://u:p@api.stlouisfed.org' },
      },
      'params.base_url',
      /credentials/,
    ],
  ];
  it.each(refused)('%s: 400 naming the field, nothing enqueued', async (_name, body, field, rule) => {
    expectBadRequest(await enqueue(body), field, rule);
    expect(await h.app.store.countItems()).toBe(0);
  });

  it("inside the root, and the vendor's own host, are accepted", async () => {
    expect((await enqueue({ pipeline: INGEST, partition: WEEK, params: { data_dir: 'data' } })).status).toBe(201);
    expect(
      (
        await enqueue({
          pipeline: 'prices.daily_ohlcv',
          partition: { date: '2025-12-19', symbol: 'AAPL' },
          params: { source: 'alphavantage', base_url: 'https://www.alphavantage.co' },
        })
      ).status,
    ).toBe(201);
    // The ingest item brings its auto downstreams (normalize and the computes) along.
    expect(await h.app.store.countItems({ domain: 'prices' })).toBe(1);
    expect(await h.app.store.countItems({ pipeline: 'ingest_week' })).toBe(1);
  });
});

describe('a worker checks again: an item stored before the rules (or behind them) does not run', () => {
  let h: Harness;
  afterAll(async () => {
    await h.close();
  });
  it('fails the attempt naming params.data_dir, and never reads the file', async () => {
    h = await startHarness({ worker: {} });
    // Five attempts allowed: the bad params must fail it for good on the first.
    const { spec } = buildEnqueueSpec(h.app.registry, { pipeline: INGEST, partition: WEEK, maxAttempts: 5 });
    const [outcome] = await h.app.store.enqueue([{ ...spec, params: { data_dir: outside, force: false } }]);
    h.worker!.start();
    const item = await waitFor(async () => {
      const i = await h.app.store.getItem(outcome!.item.id);
      return i && i.state === 'FAILED' ? i : null;
    });
    expect(item.lastError).toMatch(/params\.data_dir: .* must be inside a data root/);
    expect(item.attempts).toBe(1);
    expect(await h.app.data.latestCapture('finra.otc_transparency', outcome!.item.partitionKey, 'ingest', 'landed')).toBeNull();
  });
});

describe('CLI enqueue, backfill, schedules and batch runs', () => {
  let env: TestEnv | undefined;
  afterEach(async () => {
    await killStarted();
    env?.cleanup();
    env = undefined;
  });

  it('sluice enqueue and sluice backfill refuse paths and hosts outside the config, naming the field; the queue stays empty', async () => {
    env = new TestEnv();
    const week = 'week_ending=2025-12-19,tier=OTC';
    expectRefused(
      await env.cli(['enqueue', INGEST, '--partition', week, '--params', JSON.stringify({ data_dir: outside })]),
      'params.data_dir',
      /inside a data root/,
    );
    expectRefused(
      await env.cli(['enqueue', INGEST, '--partition', week, '--params', JSON.stringify({ base_url: 'http://10.0.0.1/' })]),
      'params.base_url',
      /allowed host/,
    );
    expectRefused(
      await env.cli([
        'backfill',
        'fred.ingest_bucket',
        '--from',
        '2025-12-15',
        '--to',
        '2025-12-19',
        '--partition',
        'bucket=fx',
        '--params',
        JSON.stringify({ source: 'http', base_url: 'http://evil.example' }),
      ]),
      'params.base_url',
      /allowed host/,
    );
    expectRefused(
      await env.cli([
        'backfill',
        'features.daily_matrix',
        '--from',
        '2025-12-15',
        '--to',
        '2025-12-19',
        '--params',
        JSON.stringify({ export_dir: '../exports' }),
      ]),
      'params.export_dir',
      /\.\./,
    );
    expect(env.counts().items).toBe(0);
  });

  it('a schedule whose params point outside is a config error naming the path; no database is created', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ data_dir: outside }, 'schedules[0] (weekly).params.data_dir', /inside a data root/],
      [{ base_url: 'https://finra.example/otc/' }, 'schedules[0] (weekly).params.base_url', /add "finra\.example"/],
    ];
    for (const [params, field, rule] of cases) {
      env = new TestEnv({ schedules: [{ name: 'weekly', pipeline: INGEST, cron: '30 10 * * 1', partitions: { lookback_weeks: 1, tier: ['OTC'] }, params }] });
      const r = await env.cli(['schedule', 'list']);
      expectRefused(r, field, rule);
      expect(r.stderr).toContain(env.configPath);
      env.cleanup();
      env = undefined;
    }
    // Allowed by the config: accepted.
    env = new TestEnv({
      access: { allowed_hosts: ['finra.example'] },
      schedules: [
        {
          name: 'weekly',
          pipeline: INGEST,
          cron: '30 10 * * 1',
          partitions: { lookback_weeks: 1, tier: ['OTC'] },
          params: { base_url: 'https://finra.example/otc/' },
        },
      ],
    });
    await env.cliOk(['schedule', 'list']);
  });

  it('sluice finra --data-dir outside the data roots names the flag (it is recorded on the items)', async () => {
    env = new TestEnv();
    expectRefused(await env.cli(['finra', '--weeks', '2025-12-19', '--tiers', 'OTC', '--data-dir', outside, '--json']), '--data-dir', /inside a data root/);
    expect(env.counts().items).toBe(0);
    // Listing the directory as a data root allows it.
    env.writeConfig({ access: { data_roots: ['.', outside] } });
    const ok = await env.cli(['finra', '--weeks', '2025-12-19', '--tiers', 'OTC', '--only-stage', 'ingest', '--data-dir', outside, '--json']);
    expect(ok.stderr).not.toMatch(/--data-dir/);
    expect(env.counts().items).toBe(1);
  });
});

describe('sources themselves', () => {
  let target: FixtureServer;
  let redirector: Server;
  let base: string;
  beforeAll(async () => {
    target = await startFixtureServer({ files: { '/data.csv': 'a|b\n1|2\n', '/secret': 'metadata' } });
    redirector = createServer((req, res) => {
      if (req.url === '/same') res.writeHead(302, { location: '/data' }).end();
      else if (req.url === '/data') res.writeHead(200, { 'content-type': 'text/csv' }).end('x|y\n');
      else res.writeHead(302, { location: `${target.url}/secret` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => redirector.close(() => resolve()));
    await target.close();
  });

  it('HTTP follows a redirect within the origin, and refuses one to another host or port without calling it', async () => {
    const http = new HttpSource({ name: 'redirects', baseUrl: base, rateLimit: false, retries: 0 });
    try {
      expect((await http.get('same')).bytes.toString()).toBe('x|y\n');
      const err = await http.get('away').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).message).toMatch(/redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\)/);
      expect((err as SourceError).permanent).toBe(true);
      expect(target.hits('/secret')).toBe(0);
    } finally {
      http.close();
    }
  });

  it('a file source will not follow a symbolic link planted in its directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-files-'));
    try {
      symlinkSync(path.join(outside, 'otc_20251219.csv'), path.join(dir, 'otc_20251219.csv'));
      const err = await new FileSource(dir).read('otc_20251219.csv').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).message).toMatch(/is a symbolic link/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
