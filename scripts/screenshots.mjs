// Refreshes the README's screenshots (docs/screenshots/*.png) from a real `sluice start` on
// the bundled demo: node scripts/screenshots.mjs. Needs Debian's Chromium at /usr/bin/chromium
// (playwright-core drives it; nothing is downloaded). Not a test: it only takes pictures.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-shots-'));
mkdirSync(OUT, { recursive: true });

// The demo config copied into a fresh folder: the demo's files (and its "already restated"
// marker) live beside the config, so every run starts from the vendor's first files.
const config = path.join(dir, 'demo.config.json');
copyFileSync(path.join(ROOT, 'config', 'demo.config.json'), config);
const child = spawn(
  process.execPath,
  [
    path.join(ROOT, 'bin', 'sluice.js'),
    '--config',
    config,
    '--db',
    `sqlite:${path.join(dir, 'demo.db')}`,
    '--log-format',
    'json',
    'start',
    '--port',
    '0',
    '--demo',
  ],
  {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'ignore'],
  },
);
const base = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error('sluice start did not print its URL within 90 s')), 90_000);
  child.stdout.setEncoding('utf8').on('data', (c) => {
    out += c;
    const m = out.match(/Sluice is running: (http:\/\/[^/\s]+)\//);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  child.on('exit', (code) => reject(new Error(`sluice start exited (${code})`)));
});
const api = async (url, init) => (await fetch(base + url, init)).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  // Let the demo run: FINRA weeks in, the restatement landed, the flaky source retried.
  const deadline = Date.now() + 240_000;
  let revision = null;
  while (Date.now() < deadline) {
    const { captures } = await api('/api/v1/captures?domain=finra.otc_transparency');
    revision = captures.find((c) => c.is_revision && c.status === 'landed') ?? null;
    if (revision) break;
    await sleep(2000);
  }
  await api('/api/v1/backfills', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      pipeline: 'finra.otc_transparency.ingest_week',
      from: '2025-12-05',
      to: '2025-12-19',
      reprocess: 'all',
      params: { source: 'file', data_dir: path.join(dir, '.sluice-demo', 'finra') },
    }),
  });
  await sleep(3000);
  const { items } = await api('/api/v1/work/pending?state=ALL&pipeline=finra.otc_transparency.normalize_week&limit=1');

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  const page = await (await browser.newContext({ baseURL: base, viewport: { width: 1360, height: 900 }, timezoneId: 'UTC' })).newPage();
  const shots = [
    ['overview', '/'],
    ['grid', '/grid/finra.otc_transparency.ingest_week'],
    ['schedules', '/schedules'],
    ['graph', '/graph'],
    ['manifest', '/manifest?domain=finra.otc_transparency'],
    ['captures', '/captures?domain=finra.otc_transparency'],
    ['backfills', '/backfills'],
  ];
  if (items?.[0]) shots.push(['item', `/items/${items[0].id}`]);
  if (revision) shots.push(['diff', `/captures/diff?capture_id=${encodeURIComponent(revision.capture_id)}`]);
  for (const [name, url] of shots) {
    await page.goto(url);
    await sleep(1500); // one live refresh
    await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
    process.stdout.write(`docs/screenshots/${name}.png  ${url}\n`);
  }
  await browser.close();
} finally {
  child.kill('SIGINT');
  await new Promise((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
