import type { FastifyInstance } from 'fastify';
import { summarizeCounts } from '../../cli/commands/status.js';
import { WORK_STATES } from '../../core/states.js';
import { escapeHtml } from '../html.js';
import type { ServerContext } from '../server.js';

/** A plain, dependency-free status page: counts by pipeline and state, and recent items.
 * It refreshes itself every few seconds. */
export function registerStatusPage(server: FastifyInstance, { app }: ServerContext): void {
  server.get('/api/v1/status', async () => ({ database: app.store.backend, ...summarizeCounts(await app.store.countByState()) }));

  server.get('/', async (_req, reply) => {
    const summary = summarizeCounts(await app.store.countByState());
    const recent = await app.store.listItems({ limit: 25 });
    const head = WORK_STATES.map((s) => `<th>${s}</th>`).join('');
    const rows = summary.pipelines
      .map((p) => `<tr><td>${escapeHtml(p.pipeline)}</td>${WORK_STATES.map((s) => `<td class="n ${s}">${(p as Record<string, unknown>)[s] || ''}</td>`).join('')}</tr>`)
      .join('');
    const items = recent
      .map(
        (i) =>
          `<tr><td>${i.id}</td><td>${escapeHtml(`${i.domain}.${i.pipeline}`)}</td><td>${escapeHtml(i.partitionKey)}</td><td class="${i.state}">${i.state}</td><td>${i.attempts}/${i.maxAttempts}</td><td>${escapeHtml(i.lastError ?? '')}</td></tr>`,
      )
      .join('');
    reply.type('text/html; charset=utf-8');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Sluice status</title><style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#1f2937}table{border-collapse:collapse;margin-bottom:2rem}
td,th{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}.n{text-align:right}
.COMPLETE{background:#dcfce7}.FAILED{background:#fee2e2}.RUNNING{background:#dbeafe}.RETRY_WAIT{background:#fef9c3}
.PENDING{background:#f3f4f6}.WAITING{background:#ede9fe}.CANCELLED{background:#e5e7eb}</style></head><body>
<h1>Sluice</h1><p>database: ${escapeHtml(app.store.backend)} · pipelines: ${app.registry.keys().length}</p>
<h2>Work by pipeline and state</h2><table><tr><th>pipeline</th>${head}</tr>${rows}</table>
<h2>Recent work items</h2><table><tr><th>id</th><th>pipeline</th><th>partition</th><th>state</th><th>attempts</th><th>last error</th></tr>${items}</table>
</body></html>`;
  });
}
