import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSource, SourceError, SourceNotFoundError, TokenBucket } from '../../src/connectors/index.js';

describe('TokenBucket', () => {
  it('allows a burst of `capacity`, then one call per interval/capacity', async () => {
    const bucket = new TokenBucket({ capacity: 2, intervalMs: 400 });
    const start = performance.now();
    const waits = [await bucket.acquire(), await bucket.acquire(), await bucket.acquire()];
    expect(waits[0]).toBe(0);
    expect(waits[1]).toBe(0);
    expect(waits[2]).toBeGreaterThan(150);
    expect(performance.now() - start).toBeGreaterThanOrEqual(180);
  });

  it('a wait is abortable and gives its token back', async () => {
    const bucket = new TokenBucket({ capacity: 1, intervalMs: 300 });
    await bucket.acquire();
    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 30);
    await expect(bucket.acquire(controller.signal)).rejects.toBe(reason);
    // The aborted waiter's reservation is returned: the next caller waits < one interval.
    expect(bucket.waitTimeMs()).toBeLessThanOrEqual(300);
    expect(bucket.tryAcquire()).toBe(false);
    await new Promise((r) => setTimeout(r, 320));
    expect(bucket.tryAcquire()).toBe(true);
  });

  it('rejects nonsense limits', () => {
    expect(() => new TokenBucket({ capacity: 0, intervalMs: 1000 })).toThrow(/rateLimit.capacity/);
    expect(() => new TokenBucket({ capacity: 5, intervalMs: 0 })).toThrow(/rateLimit.intervalMs/);
  });
});

describe('FileSource', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('returns the first candidate that exists, with its bytes and path', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-files-'));
    writeFileSync(path.join(dir, 'b.csv'), 'hello');
    const res = await new FileSource(dir).read(['a.csv', 'b.csv']);
    expect(res.bytes.toString()).toBe('hello');
    expect(res.uri).toBe(path.join(dir, 'b.csv'));
  });

  it('names every path tried when none exists, and a missing directory', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-files-'));
    const err = (await new FileSource(dir).read(['a.csv', 'b.csv']).catch((e: unknown) => e)) as SourceNotFoundError;
    expect(err).toBeInstanceOf(SourceNotFoundError);
    expect(err.message).toBe(`file not found: any of ${path.join(dir, 'a.csv')}, ${path.join(dir, 'b.csv')}`);
    expect(err.permanent).toBe(false);
    const missing = (await new FileSource(path.join(dir, 'nope')).read('a.csv').catch((e: unknown) => e)) as SourceError;
    expect(missing.message).toContain(`data directory ${path.join(dir, 'nope')} does not exist`);
    expect(missing.permanent).toBe(true);
    await expect(new FileSource(dir).read('../etc/passwd')).rejects.toThrow(/must be a plain name/);
  });
});
