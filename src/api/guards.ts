import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';
import type { ZodServer } from './context.js';

/**
 * Cross-site request forgery guard for every state-changing request (POST, PUT, PATCH,
 * DELETE): a browser always sends `Origin` (and `Sec-Fetch-Site`) on such requests, so a page
 * on another site that makes the dashboard user's browser press "retry" or "cancel" is told
 * apart from the dashboard itself (same origin) and from scripts and curl (no Origin at all).
 * The session cookie is SameSite=Strict too; this guard also covers servers run without a
 * token, where there is no cookie to withhold.
 */
export function registerCsrfGuard(server: ZodServer): void {
  server.addHook('onRequest', async (request, reply) => {
    if (SAFE_METHODS.has(request.method)) return;
    const site = header(request, 'sec-fetch-site');
    const origin = header(request, 'origin');
    if (site === 'cross-site' || site === 'same-site' || (origin !== undefined && !sameOrigin(origin, header(request, 'host')))) {
      return reply
        .code(403)
        .type('application/json; charset=utf-8')
        .send(
          errorBody(
            'cross_site_request',
            `refused: a ${request.method} from ${origin ?? 'another site'} to this server (cross-site requests cannot change state)`,
            'origin',
            origin,
            "be this server's own origin (or absent, for scripts)",
          ),
        );
    }
  });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (origin === 'null' || host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Failed logins per client address: after `max` failures within `windowMs`, further tries
 * are answered 429 until the window has passed, so the token cannot be guessed at speed.
 * In memory and per process, which is what a single `sluice start`/`sluice api` needs.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `client` may try again, or 0 when it may try now. */
  retryAfterMs(client: string): number {
    const recent = this.recent(client);
    return recent.length >= this.max ? recent[0]! + this.windowMs - this.now() : 0;
  }

  fail(client: string): void {
    const recent = this.recent(client);
    recent.push(this.now());
    this.failures.set(client, recent);
    // Bounded memory: forget the oldest clients when many addresses have failed.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }

  private recent(client: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.failures.get(client) ?? []).filter((t) => t > cutoff);
  }
}

export function sendTooManyLogins(reply: FastifyReply, retryAfterMs: number): FastifyReply {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return reply
    .code(429)
    .header('retry-after', String(seconds))
    .type('application/json; charset=utf-8')
    .send(
      errorBody(
        'too_many_logins',
        `too many failed logins from this address; try again in ${seconds} s`,
        'token',
        undefined,
        'be the right token, at most 5 wrong tries a minute',
      ),
    );
}
