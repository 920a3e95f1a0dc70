import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A real `node:http` server on 127.0.0.1 (ephemeral port) serving fixture files, with a
 * behaviour per path to reproduce what real sources do:
 *
 *   { kind: 'slow', delayMs }                       answer after a delay
 *   { kind: 'status', status, times?, retryAfter? } answer `status` (500, 429 with Retry-After,
 *                                                   …) the first `times` requests, then serve
 *                                                   normally (forever when `times` is absent)
 *   { kind: 'truncate', bytes? }                    promise the whole file (Content-Length)
 *                                                   but send only `bytes`, then cut the socket
 *   { kind: 'html', status? }                       an HTML error page, status 200 by default
 *   { kind: 'invalid_json' }                        200 application/json that is not JSON
 *   { kind: 'body', body, status?, contentType? }   any fixed answer
 *
 * Every request is recorded (method, path, query, headers, time), so tests count server-side
 * hits — e.g. that an open circuit breaker did not call the server at all.
 */
export type Behaviour =
  | { kind: 'slow'; delayMs: number }
  | { kind: 'status'; status: number; times?: number; retryAfter?: string; body?: string }
  | { kind: 'truncate'; bytes?: number }
  | { kind: 'html'; status?: number }
  | { kind: 'invalid_json' }
  | { kind: 'body'; body: string | Buffer; status?: number; contentType?: string };

export interface RequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** `performance.now()` when the request arrived. */
  at: number;
}

export interface FixtureServerOptions {
  /** Directory whose files are served by name (`/tier1_20251219.csv`). */
  root?: string;
  /** Extra files by URL path (`/data.json`), served before `root`. */
  files?: Record<string, string | Buffer>;
}

export interface FixtureServer {
  readonly url: string;
  readonly requests: RequestRecord[];
  /** Requests seen for one path. */
  hits(urlPath: string): number;
  /** Arrival times (ms) of the requests for one path. */
  times(urlPath: string): number[];
  behave(urlPath: string, behaviour: Behaviour | null): void;
  setFile(urlPath: string, content: string | Buffer): void;
  close(): Promise<void>;
}

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head><body><h1>Down for maintenance</h1><p>Please try again later.</p></body></html>\n';

export async function startFixtureServer(options: FixtureServerOptions = {}): Promise<FixtureServer> {
  const requests: RequestRecord[] = [];
  const behaviours = new Map<string, Behaviour & { served?: number }>();
  const files = new Map<string, string | Buffer>(Object.entries(options.files ?? {}));
  const root = options.root ? path.resolve(options.root) : null;

  async function content(urlPath: string): Promise<Buffer | null> {
    const inline = files.get(urlPath);
    if (inline !== undefined) return Buffer.from(inline);
    if (!root) return null;
    const file = path.resolve(root, `.${decodeURIComponent(urlPath)}`);
    if (!file.startsWith(`${root}${path.sep}`)) return null;
    try {
      return await readFile(file);
    } catch {
      return null;
    }
  }

  function contentType(urlPath: string): string {
    if (urlPath.endsWith('.json')) return 'application/json';
    if (urlPath.endsWith('.csv')) return 'text/csv; charset=utf-8';
    return 'application/octet-stream';
  }

  async function serveFile(urlPath: string, res: ServerResponse): Promise<void> {
    const body = await content(urlPath);
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${urlPath}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': contentType(urlPath), 'content-length': body.length }).end(body);
  }

  const server: Server = createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://fixture.local');
    const urlPath = parsed.pathname;
    requests.push({ method: req.method ?? 'GET', path: urlPath, query: parsed.searchParams, headers: req.headers, at: performance.now() });
    const b = behaviours.get(urlPath);
    void (async () => {
      if (!b) return serveFile(urlPath, res);
      switch (b.kind) {
        case 'slow': {
          const timer = setTimeout(() => void serveFile(urlPath, res), b.delayMs);
          res.on('close', () => clearTimeout(timer));
          return;
        }
        case 'status': {
          b.served = (b.served ?? 0) + 1;
          if (b.times !== undefined && b.served > b.times) return serveFile(urlPath, res);
          const headers: Record<string, string> = { 'content-type': 'text/plain' };
          if (b.retryAfter !== undefined) headers['retry-after'] = b.retryAfter;
          res.writeHead(b.status, headers).end(b.body ?? `status ${b.status}\n`);
          return;
        }
        case 'truncate': {
          const body = (await content(urlPath)) ?? Buffer.from('x'.repeat(200));
          const cut = Math.min(body.length - 1, b.bytes ?? Math.floor(body.length / 2));
          res.writeHead(200, { 'content-type': contentType(urlPath), 'content-length': body.length });
          res.write(body.subarray(0, cut), () => res.destroy());
          return;
        }
        case 'html':
          res.writeHead(b.status ?? 200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML_PAGE);
          return;
        case 'invalid_json':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"Meta Data": {"1. Information": "Daily Prices", ');
          return;
        case 'body':
          res.writeHead(b.status ?? 200, { 'content-type': b.contentType ?? 'text/plain' }).end(b.body);
          return;
      }
    })().catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hits: (urlPath) => requests.filter((r) => r.path === urlPath).length,
    times: (urlPath) => requests.filter((r) => r.path === urlPath).map((r) => r.at),
    behave: (urlPath, behaviour) => {
      if (behaviour === null) behaviours.delete(urlPath);
      else behaviours.set(urlPath, { ...behaviour });
    },
    setFile: (urlPath, body) => files.set(urlPath, body),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
