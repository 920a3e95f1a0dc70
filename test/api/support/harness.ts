import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createApp, type SluiceApp } from '../../../src/app/create-app.js';
import { buildServer } from '../../../src/api/server.js';
import type { SchedulerPort } from '../../../src/api/scheduler-port.js';
import { parseConfigObject } from '../../../src/config/load-config.js';
import { definePipeline, type PipelineDefinition } from '../../../src/core/pipeline.js';
import { Worker, type WorkerOptions } from '../../../src/engine/worker.js';
import type { Store } from '../../../src/store/store.js';
import { createLogger } from '../../../src/log/logger.js';

/** Test pipelines: `prices.daily_ohlcv` partitioned by (date, symbol), steered by `control`. */
export function testPipelines() {
  const control = {
    /** `date|symbol` keys whose attempts fail. */
    fail: new Set<string>(),
    /** `date|symbol` keys whose attempts run until aborted. */
    slow: new Set<string>(),
  };
  const prices = definePipeline({
    domain: 'prices',
    name: 'daily_ohlcv',
    description: 'Daily OHLCV bars for one symbol',
    partition: z.object({
      date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
      symbol: z.string().regex(/^[A-Z.]{1,10}$/, 'must be an upper-case ticker'),
    }),
    params: z.object({ source: z.enum(['file', 'http']).default('file') }),
    handler: async (ctx) => {
      const key = `${ctx.partition.date}|${ctx.partition.symbol}`;
      ctx.output(`GET /bars/${ctx.partition.symbol}?date=${ctx.partition.date}\n`);
      if (control.slow.has(key)) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        throw ctx.signal.reason;
      }
      if (control.fail.has(key)) {
        ctx.output('HTTP 503 Service Unavailable <b>retry later</b>\n');
        throw new Error(`source answered 503 for ${ctx.partition.symbol} on ${ctx.partition.date} <script>alert("err")</script>`);
      }
      ctx.output('390 rows, content hash 9f2c…\n');
      return { row_count: 390 };
    },
  });
  const pipelines: PipelineDefinition[] = [prices];
  return { pipelines, control };
}

export interface HarnessOptions {
  pipelines?: PipelineDefinition[];
  config?: Record<string, unknown>;
  apiToken?: string;
  /** Attach a worker (not started) built from app.createWorker with these overrides. */
  worker?: Partial<WorkerOptions>;
  scheduler?: (app: SluiceApp) => SchedulerPort;
  /** Serve another store (e.g. PostgreSQL on a test schema) instead of the app's SQLite file. */
  store?: Store;
  /** Log level for the captured server log (default: debug, so tests see everything logged). */
  logLevel?: 'debug' | 'info' | 'warn';
}

export interface Harness {
  app: SluiceApp;
  server: FastifyInstance;
  base: string;
  dir: string;
  worker?: Worker;
  scheduler?: SchedulerPort;
  /** Every log line the server wrote. */
  logs: string[];
  call(
    method: string,
    url: string,
    options?: { body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-'));
  const realApp = await createApp({
    loaded: { config: parseConfigObject({ log_level: 'warn', ...options.config }), file: null, baseDir: dir },
    database: `sqlite:${path.join(dir, 'sluice.db')}`,
    pipelines: options.pipelines,
    logLevel: 'silent',
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(options.logLevel ?? 'debug', sink);
  const store = options.store ?? realApp.store;
  const app: SluiceApp = {
    ...realApp,
    store,
    logger,
    createWorker: (overrides = {}) => new Worker({ store, registry: realApp.registry, logger, concurrency: 4, leaseMs: 10_000, pollMs: 50, ...overrides }),
  };
  const worker = options.worker
    ? app.createWorker({ concurrency: 4, pollMs: 50, leaseMs: 10_000, shutdownGraceMs: 0, abortGraceMs: 200, ...options.worker })
    : undefined;
  const scheduler = options.scheduler?.(app);
  const server = await buildServer({ app, worker, scheduler, apiToken: options.apiToken });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const call: Harness['call'] = async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: string | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(base + url, { method, headers, body: payload, redirect: 'manual' });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: res.status, body, text, headers: res.headers };
  };

  return {
    app,
    server,
    base,
    dir,
    worker,
    scheduler,
    logs,
    call,
    async close() {
      await worker?.stop(0);
      await server.close();
      await realApp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
