import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ServerContext, ZodServer } from '../context.js';
import { listQuery, gridBody, gridIndexBody, itemBody, listBody, overviewBody, page, schedulesBody, gridQueryString, type Shell } from '../dashboard/pages.js';
import type { Grids } from '../grid-summary.js';
import { ApiError } from '../errors.js';
import { mustRule, NotFoundError } from '../../core/errors.js';
import { ruleOfIssue } from '../../core/zod-rule.js';
import { html } from '../html.js';
import { itemDetail, listWork, overview, recentRuns } from '../queries.js';
import type { ScheduleInfo, SchedulerStatus } from '../scheduler-port.js';
import { idParam, limitParam, offsetParam, stateFilter } from '../schemas.js';
import { gridFor, gridQuery } from './overview.js';
import { backfillBody, backfillListBody } from '../dashboard/backfill-pages.js';
import { backfillStatus, listBackfills } from '../../engine/backfills.js';
import { registerDataPages } from './data-pages.js';
import { registerGraphPage } from './graph-page.js';
import { itemLineage } from '../lineage.js';
import { CALENDAR_PAGE, launchPanel, oneDimLayout } from '../dashboard/grid-calendar.js';
import { partitionFields } from '../partition-fields.js';

// Next to this module under src/ and dist/ (api/routes → api/dashboard/assets); the bundled
// CLI (dist/bundle/, scripts/bundle-cli.mjs) is one level below dist/, hence the second place.
const ASSET_PLACES = [new URL('../dashboard/assets/', import.meta.url), new URL('../api/dashboard/assets/', import.meta.url)];
const ASSETS = ASSET_PLACES.find((u) => existsSync(u)) ?? ASSET_PLACES[0]!;

/** Content-Security-Policy for dashboard pages: only our own script and stylesheet, so even a
 * value that escaped escaping could not run script. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The dashboard: server-rendered pages (work without JavaScript) plus one small script that
 * polls the JSON API and updates them in place. No build step, no CDN, no external fonts.
 */
export function registerDashboard(server: ZodServer, ctx: ServerContext, grids: Grids, auth: { enabled: boolean }): void {
  const { app, scheduler } = ctx;
  // Every script of the assets folder, read once: dashboard.js imports the page modules.
  const scripts = new Map(
    readdirSync(ASSETS)
      .filter((f) => /^[a-z-]+\.js$/.test(f))
      .map((f) => [f, readFileSync(new URL(f, ASSETS), 'utf8')]),
  );
  const css = readFileSync(new URL('dashboard.css', ASSETS), 'utf8');
  const hidden = { hide: true } as const;
  const config = { dashboard: true };

  for (const [name, source] of scripts) {
    server.get(`/assets/${name}`, { schema: hidden }, async (_req, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(source),
    );
  }
  server.get('/assets/dashboard.css', { schema: hidden }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(css),
  );
  server.get('/favicon.ico', { schema: hidden }, async (_req, reply) => reply.code(204).send());

  const shell = (s: Omit<Shell, 'database' | 'authEnabled'>): Shell => ({ ...s, database: app.store.backend, authEnabled: auth.enabled });
  registerDataPages(server, ctx, shell);
  registerGraphPage(server, ctx, shell);

  server.get('/', { schema: hidden, config }, async (_req, reply) => {
    const [o, runs] = await Promise.all([overview(ctx), recentRuns(ctx, { limit: 10, offset: 0 })]);
    return sendPage(reply, page(shell({ title: 'Overview', page: 'overview' }), overviewBody(o, runs)));
  });

  server.get(
    '/work',
    {
      schema: {
        ...hidden,
        querystring: z.object({
          state: z.string().optional(),
          domain: z.string().optional(),
          pipeline: z.string().optional(),
          limit: limitParam(50, 1000),
          offset: offsetParam,
        }),
      },
      config,
    },
    async (request, reply) => {
      const q = request.query;
      // The list page shows every state unless asked (the API's default is "waiting to run").
      const stateText = q.state && q.state !== '' ? q.state : 'ALL';
      const parsed = stateFilter.safeParse(stateText);
      if (!parsed.success)
        throw new ApiError(
          400,
          'invalid_input',
          `state: ${JSON.stringify(stateText)} is invalid: ${mustRule(ruleOfIssue(parsed.error.issues[0]!))}`,
          'state',
          stateText,
          ruleOfIssue(parsed.error.issues[0]!),
        );
      const states = parsed.data;
      const data = await listWork(ctx, { states, domain: q.domain || undefined, pipeline: q.pipeline || undefined, limit: q.limit, offset: q.offset });
      const counts = await app.store.countByState();
      const pipelines = [...new Set([...app.registry.keys(), ...counts.map((c) => `${c.domain}.${c.pipeline}`)])].sort();
      const domains = [...new Set(pipelines.map((p) => p.slice(0, p.lastIndexOf('.'))))].sort();
      const view = { ...data, state: stateText, domain: q.domain ?? '', pipeline: q.pipeline ?? '', domains, pipelines };
      const api = `/api/v1/work/pending?${listQuery(view, q.offset)}`;
      return sendPage(reply, page(shell({ title: 'Work items', page: 'work', data: { api } }), listBody(view)));
    },
  );

  server.get('/items/:id', { schema: { ...hidden, params: z.object({ id: idParam }) }, config }, async (request, reply) => {
    const [detail, lineage] = await Promise.all([itemDetail(ctx, request.params.id), itemLineage(ctx, request.params.id)]);
    return sendPage(
      reply,
      page(shell({ title: `Item #${detail.item.id}`, page: 'item', data: { 'item-id': String(detail.item.id) } }), itemBody({ ...detail, lineage })),
    );
  });

  server.get('/grid', { schema: hidden, config }, async (_req, reply) => {
    const counts = await app.store.countByState();
    const totals = new Map<string, number>();
    for (const c of counts) totals.set(`${c.domain}.${c.pipeline}`, (totals.get(`${c.domain}.${c.pipeline}`) ?? 0) + c.count);
    const rows = app.registry.list().map((p) => ({ pipeline: p.key, description: p.definition.description ?? null, items: totals.get(p.key) ?? 0 }));
    rows.sort((a, b) => b.items - a.items || a.pipeline.localeCompare(b.pipeline));
    return sendPage(reply, page(shell({ title: 'Partitions', page: 'grid-index' }), gridIndexBody(rows)));
  });

  server.get(
    '/grid/:pipeline',
    { schema: { ...hidden, params: z.object({ pipeline: z.string().min(1) }), querystring: gridQuery }, config },
    async (request, reply) => {
      const q = { ...request.query, rows: request.query.rows || undefined, cols: request.query.cols || undefined };
      // A well-formed name that is not registered is a missing page (404), not bad input.
      if (!app.registry.has(request.params.pipeline) && request.params.pipeline.includes('.')) throw new NotFoundError('pipeline', request.params.pipeline);
      let g = await gridFor(ctx, grids, request.params.pipeline, q);
      // A one-dimensional set shows as a calendar or wrapped strip: a page holds a year of days.
      if (oneDimLayout(g) && !/[?&]limit=/.test(request.url)) g = await gridFor(ctx, grids, request.params.pipeline, { ...q, limit: CALENDAR_PAGE });
      const api = `/api/v1/grid/${encodeURIComponent(g.pipeline)}?${gridQueryString({ ...g, explicitRows: q.rows, explicitCols: q.cols }, g.offset, g.col_offset, g.limit, g.col_limit)}`;
      return sendPage(
        reply,
        page(
          shell({ title: `Partitions · ${g.pipeline}`, page: 'grid', data: { api } }),
          gridBody(g, { rows: q.rows, cols: q.cols }, { launch: launchPanel(g.pipeline, partitionFields(app.registry.require(g.pipeline))) }),
        ),
      );
    },
  );

  server.get('/backfills', { schema: hidden, config }, async (_req, reply) => {
    const list = await listBackfills(app.store, 100, 0);
    return sendPage(reply, page(shell({ title: 'Backfills', page: 'backfills' }), backfillListBody(list)));
  });

  server.get('/backfills/:id', { schema: { ...hidden, params: z.object({ id: idParam }) }, config }, async (request, reply) => {
    const b = await backfillStatus(app.store, request.params.id);
    return sendPage(reply, page(shell({ title: `Backfill #${b.id}`, page: 'backfill', data: { 'backfill-id': String(b.id) } }), backfillBody(b)));
  });

  server.get('/schedules', { schema: hidden, config }, async (_req, reply) => {
    let status: SchedulerStatus | null = null;
    let schedules: ScheduleInfo[] = [];
    let error: string | null = null;
    if (scheduler) {
      try {
        [status, schedules] = await Promise.all([scheduler.status(), scheduler.listSchedules()]);
      } catch (err) {
        error = `Scheduler unavailable: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    const body = schedulesBody(scheduler !== undefined, status, schedules, app.config.schedules, error);
    return sendPage(reply, page(shell({ title: 'Schedules', page: 'schedules', data: { attached: scheduler ? '1' : '0' } }), body));
  });
}

export function sendPage(reply: import('fastify').FastifyReply, markup: string) {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .send(markup);
}

/** An HTML error page for dashboard routes (the API answers JSON). */
export function errorPage(status: number, title: string, message: string, authEnabled: boolean, database: string): string {
  return page(
    { title, page: 'error', database, authEnabled, data: { status: String(status) } },
    html`<h1>${title}</h1><section class="panel"><p class="flash error">${message}</p><p><a href="/">Back to the overview</a></p></section>`,
  );
}
