import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LoginLimiter, sendTooManyLogins } from './guards.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodServer } from './context.js';
import { errorBody } from './errors.js';
import { escapeHtml } from './html.js';

/**
 * Bearer-token auth, on when SLUICE_API_TOKEN (or `buildServer({ apiToken })`) is set.
 *
 * - Every `/api/...` route needs `Authorization: Bearer TOKEN` (401 JSON otherwise), or the
 *   dashboard's session cookie.
 * - Dashboard pages redirect to `/login`, where a person pastes the token once; the server
 *   then sets an HttpOnly, SameSite=Strict cookie holding an HMAC of the token under a key
 *   that lives only in this process (the token itself is never stored in the browser, and a
 *   restart logs everyone out).
 * - Open without a token: `/healthz`, `/readyz`, `/metrics` (probes and Prometheus), the
 *   OpenAPI docs at `/docs` (they describe the API, no data), `/login`, and the dashboard's
 *   static script and stylesheet.
 *
 * Comparisons are constant-time (SHA-256 digests compared with timingSafeEqual). The token
 * and the Authorization header are never logged.
 */
export const SESSION_COOKIE = 'sluice_session';

const OPEN_EXACT = new Set(['/healthz', '/readyz', '/metrics', '/login', '/logout', '/favicon.ico']);
const OPEN_PREFIX = ['/docs', '/assets/'];

export function isOpenPath(path: string): boolean {
  // No escapes or dot segments in an open path: nothing can be smuggled past the check.
  if (path.includes('%') || path.includes('..') || path.includes('//')) return false;
  return OPEN_EXACT.has(path) || OPEN_PREFIX.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
}

export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A local path to return to after login (never another origin). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

/** What the server needs of auth: whether it is on, and the hook that guards one scope. */
export interface Auth {
  enabled: boolean;
  /** The onRequest hook: the root runs it outside the /api/v1 scope, that scope adds it itself. */
  guard?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/** Route config flag set on every route of the /api/v1 scope (see `markApiScope`). */
const API_SCOPE = 'apiScope';

/** An onRoute hook: marks the routes of a scope that runs the guard as its own hook. */
export function markApiScope(route: { config?: unknown }): void {
  route.config = { ...(route.config as object | undefined), [API_SCOPE]: true };
}

export function registerAuth(server: ZodServer, token: string | undefined): Auth {
  if (!token) return { enabled: false };
  const sessionKey = randomBytes(32);
  const sessionValue = createHmac('sha256', sessionKey).update(token, 'utf8').digest('base64url');
  const logins = new LoginLimiter();

  const authorized = (request: FastifyRequest): 'ok' | 'missing' | 'wrong' => {
    const header = request.headers.authorization;
    if (typeof header === 'string' && header.length > 0) {
      const match = /^Bearer[ ]+(.+)$/i.exec(header.trim());
      return match && constantTimeEqual(match[1]!, token) ? 'ok' : 'wrong';
    }
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined) return constantTimeEqual(cookie, sessionValue) ? 'ok' : 'wrong';
    return 'missing';
  };

  const guard = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const path = request.url.split('?')[0]!;
    if (isOpenPath(path)) return;
    const verdict = authorized(request);
    if (verdict === 'ok') return;
    const wantsHtml = !path.startsWith('/api/') && request.method === 'GET' && /text\/html/.test(String(request.headers.accept ?? ''));
    if (wantsHtml)
      return reply
        .code(303)
        .header('location', `/login?next=${encodeURIComponent(request.url)}`)
        .send();
    const message =
      verdict === 'missing'
        ? 'authentication required: send Authorization: Bearer <token> (the value of SLUICE_API_TOKEN)'
        : 'the bearer token is not valid for this server';
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="sluice"')
      .type('application/json; charset=utf-8')
      .send(errorBody('unauthorized', message, 'authorization', undefined, 'be "Bearer " followed by the server\'s API token'));
  };

  // Everything outside the /api/v1 scope (dashboard, TurboMode /scheduler/*, unknown paths,
  // which answer 401 before 404) is guarded here; the /api/v1 scope adds the guard itself.
  server.addHook('onRequest', async (request, reply) => {
    if ((request.routeOptions.config as { [API_SCOPE]?: boolean } | undefined)?.[API_SCOPE] === true) return;
    return guard(request, reply);
  });

  server.register(async (scope) => {
    // Only the login form posts urlencoded bodies; the API itself accepts JSON only.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    scope.get('/login', { schema: { hide: true } }, async (request, reply) => {
      const next = safeNext((request.query as Record<string, unknown>).next);
      return sendLogin(reply, next, null, 200);
    });

    scope.post('/login', { schema: { hide: true } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      const wait = logins.retryAfterMs(request.ip);
      if (wait > 0) return sendTooManyLogins(reply, wait);
      if (typeof body.token !== 'string' || !constantTimeEqual(body.token, token)) {
        logins.fail(request.ip);
        return sendLogin(reply, next, 'That token is not valid for this server.', 401);
      }
      logins.succeed(request.ip);
      return reply.code(303).header('set-cookie', `${SESSION_COOKIE}=${sessionValue}; Path=/; HttpOnly; SameSite=Strict`).header('location', next).send();
    });

    scope.post('/logout', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(303).header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).header('location', '/login').send(),
    );
  });

  return { enabled: true, guard };
}

function sendLogin(reply: FastifyReply, next: string, error: string | null, status: number): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Sluice</title><link rel="stylesheet" href="/assets/dashboard.css"></head>
<body class="login"><main class="login-box"><h1><span class="logo">≋</span> Sluice</h1>
<p>This server requires its API token (<code>SLUICE_API_TOKEN</code>).</p>
${error ? `<p class="flash error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login"><input type="hidden" name="next" value="${escapeHtml(next)}">
<label>API token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></main></body></html>`);
}
