import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import { isPermanentError, PermanentError } from '../../src/core/errors.js';
import { definePipeline } from '../../src/core/pipeline.js';
import { RejectThresholdError } from '../../src/data/reject-threshold.js';
import { enqueueWork } from '../../src/engine/enqueue.js';

/**
 * A project's pipeline may throw the PermanentError of another copy of Sluice (the dev CLI
 * runs src/ while `import 'sluice'` resolves to dist/). A second instance of the module,
 * loaded under another URL, stands in for that copy: its class is a different object.
 */
const other = (await import(/* @vite-ignore */ `../../src/core/errors.js?copy=${Date.now()}`)) as typeof import('../../src/core/errors.js');

const dirs: string[] = [];
const apps: SluiceApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('PermanentError across copies of the module', () => {
  it('the stand-in really is another class, and the brand still recognises it', () => {
    expect(other.PermanentError).not.toBe(PermanentError);
    const foreign = new other.PermanentError('bad file');
    expect(isPermanentError(foreign)).toBe(true);
    expect(foreign instanceof PermanentError).toBe(true);
    expect(isPermanentError(new Error('x'))).toBe(false);
    expect(new Error('x') instanceof PermanentError).toBe(false);
    // Subclasses keep the ordinary check: a PermanentError is not every subclass.
    expect(new PermanentError('x') instanceof RejectThresholdError).toBe(false);
  });

  it('the worker fails an item for good (no retry) on a PermanentError from another copy', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-perm-'));
    dirs.push(dir);
    let runs = 0;
    const pipe = definePipeline({
      domain: 'test',
      name: 'foreign',
      params: z.object({}),
      retry: { maxAttempts: 5, baseDelayMs: 1 },
      handler: () => {
        runs++;
        throw new other.PermanentError('the vendor file is truncated');
      },
    });
    const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, workers: { poll_interval: '20ms' } });
    const app = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent', pipelines: [pipe] });
    apps.push(app);
    const [outcome] = await enqueueWork(app.store, app.registry, [{ pipeline: 'test.foreign' }]);
    expect((await app.createWorker().drain()).failed).toBe(1);
    const item = (await app.store.getItem(outcome!.item.id))!;
    expect(item.state).toBe('FAILED');
    expect(item.attempts).toBe(1);
    expect(runs).toBe(1);
  });
});
