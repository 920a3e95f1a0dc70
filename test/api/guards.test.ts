import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../src/api/guards.js';
import { startHarness, testPipelines, type Harness } from './support/harness.js';

const TOKEN = 'guard-token-8Hk2';
const form = (token: string) => ({
  raw: new URLSearchParams({ token, next: '/' }).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

describe('request guards: CSRF, login rate limit, body and batch size', () => {
  let h: Harness;
  const count = async () => (await h.app.store.listItems({ limit: 10_000 })).length;
  beforeAll(async () => {
    h = await startHarness({ pipelines: testPipelines().pipelines });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a state-changing request from another origin is refused (403) and changes nothing; same origin and scripts pass', async () => {
    const before = await count();
    const enqueue = { pipeline: 'ops.noop', partition: { csrf: '1' } };
    const evil = await h.call('POST', '/api/v1/work/enqueue', { body: enqueue, headers: { origin: 'http://evil.example' } });
    expect(evil.status).toBe(403);
    expect(evil.body.error).toMatchObject({ code: 'cross_site_request', field: 'origin', value: 'http://evil.example' });
    const crossSite = await h.call('POST', '/api/v1/work/retry', { body: { domain: 'ops' }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const opaque = await h.call('POST', '/api/v1/work/enqueue', { body: enqueue, headers: { origin: 'null' } });
    expect(opaque.status).toBe(403);
    expect(await count()).toBe(before);
    // The dashboard itself (same origin) and a script (no Origin) are served.
    const same = await h.call('POST', '/api/v1/work/enqueue', { body: enqueue, headers: { origin: h.base, 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBeLessThan(300);
    const script = await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.noop', partition: { csrf: '2' } } });
    expect(script.status).toBeLessThan(300);
    expect(await count()).toBe(before + 2);
    // Reads are not affected.
    expect((await h.call('GET', '/api/v1/work/pending', { headers: { origin: 'http://evil.example' } })).status).toBe(200);
  });

  it('a body over 1 MiB is refused with 413 in the JSON error shape', async () => {
    const before = await count();
    const big = { pipeline: 'ops.noop', partition: { big: '1' }, params: { pad: 'x'.repeat(1024 * 1024 + 10) } };
    const res = await h.call('POST', '/api/v1/work/enqueue', { body: big });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBeTypeOf('string');
    expect(await count()).toBe(before);
  });

  it('a batch over 1000 items is refused naming items', async () => {
    const items = Array.from({ length: 1001 }, (_, i) => ({ pipeline: 'ops.noop', partition: { batch: String(i) } }));
    const res = await h.call('POST', '/api/v1/work/enqueue', { body: { items } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ field: 'items' });
    expect(res.body.error.rule).toMatch(/at most 1000/);
  });
});

describe('login rate limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ apiToken: TOKEN, pipelines: testPipelines().pipelines });
  });
  afterAll(async () => {
    await h.close();
  });

  it('after 5 wrong tokens from one address, even the right one is answered 429 with Retry-After', async () => {
    for (let i = 0; i < 5; i++) expect((await h.call('POST', '/login', form(`wrong-${i}`))).status).toBe(401);
    const limited = await h.call('POST', '/login', form(TOKEN));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('too_many_logins');
    // The bearer token for scripts is not affected by the login limit.
    expect((await h.call('GET', '/api/v1/work/pending', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('the window slides: failures older than the window no longer count, a success clears them (clock injected)', () => {
    let now = 0;
    const limiter = new LoginLimiter(2, 1_000, () => now);
    limiter.fail('a');
    limiter.fail('a');
    expect(limiter.retryAfterMs('a')).toBe(1_000);
    expect(limiter.retryAfterMs('b')).toBe(0);
    now = 1_001;
    expect(limiter.retryAfterMs('a')).toBe(0);
    limiter.fail('a');
    limiter.succeed('a');
    limiter.fail('a');
    expect(limiter.retryAfterMs('a')).toBe(0);
  });
});
