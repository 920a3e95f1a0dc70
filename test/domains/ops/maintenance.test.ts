// ops.maintenance reaches the queue only through its context's `queue` port (no store handed
// in at registration). Run it through a real worker on a real SQLite file and check it pruned.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createApp, type SluiceApp } from '../../../src/app/create-app.js';
import { parseConfigObject } from '../../../src/config/load-config.js';
import { enqueueWork } from '../../../src/engine/enqueue.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

it('ops.maintenance prunes finished items older than the retention through ctx.queue', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-maint-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, workers: { poll_interval: '50ms', lease: '5s' } });
  const app: SluiceApp = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent' });
  cleanup.push(() => app.close());

  await enqueueWork(app.store, app.registry, [{ pipeline: 'ops.noop', partition: { n: '1' } }]);
  expect((await app.createWorker({ concurrency: 1 }).drain()).failed).toBe(0);
  const done = await app.store.findItem('ops', 'noop', 'n=1');
  expect(done?.state).toBe('COMPLETE');

  // Everything finished before now is older than a 1ms retention once a few ms have passed.
  await new Promise((r) => setTimeout(r, 20));
  const [queued] = await enqueueWork(app.store, app.registry, [{ pipeline: 'ops.maintenance', partition: {}, params: { retention: '1ms', vacuum: true } }]);
  expect((await app.createWorker({ concurrency: 1 }).drain()).failed).toBe(0);
  expect(await app.store.findItem('ops', 'noop', 'n=1')).toBeNull();
  const maint = await app.store.getItem(queued!.item.id);
  expect(maint?.state).toBe('COMPLETE');
  const attempts = await app.store.listAttempts(maint!.id);
  expect(attempts.at(-1)?.result).toMatchObject({ pruned: 1 });
});
