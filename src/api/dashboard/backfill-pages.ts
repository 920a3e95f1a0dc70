import { WORK_STATES } from '../../core/states.js';
import type { BackfillStatusJson } from '../../engine/backfills.js';
import { html, type SafeHtml } from '../html.js';
import { fmtTime } from './pages.js';

/**
 * Backfill pages: the list with a progress bar per backfill, and one backfill with its
 * counts by state (its pipeline and the downstream it brought in), rate, ETA and Cancel.
 * The browser script refreshes `#bf-*` elements from GET /api/v1/backfills/:id.
 */

/** A native <progress> (the dashboard's CSP allows no inline styles): finished of total items. */
export function progressBar(b: BackfillStatusJson): SafeHtml {
  return html`<progress class="bf-bar" max="${Math.max(b.progress.total, 1)}" value="${b.progress.finished}" title="${b.progress.percent}%">${b.progress.percent}%</progress>`;
}

export function progressText(b: BackfillStatusJson): string {
  const p = b.progress;
  const eta = p.outstanding === 0 ? 'finished' : p.eta_seconds === null ? 'ETA unknown' : `ETA ${p.eta_seconds}s`;
  return `${p.finished}/${p.total} items finished (${p.percent}%) · ${p.complete} complete · ${p.failed} failed · ${p.outstanding} outstanding · ${p.rate_per_minute ?? '—'}/min · ${eta}`;
}

export function backfillListBody(list: { backfills: BackfillStatusJson[]; total: number }): SafeHtml {
  return html`<h1>Backfills <span class="sub">${list.total} in all</span></h1>
<section class="panel"><table><thead><tr><th>id</th><th>pipeline</th><th>range</th><th>state</th><th>progress</th><th>created</th></tr></thead><tbody id="backfills-body">${
    list.backfills.length === 0
      ? html`<tr><td class="empty" colspan="6">No backfills yet. Create one with <code>sluice backfill PIPELINE --from … --to …</code> or POST /api/v1/backfills.</td></tr>`
      : list.backfills.map(
          (b) =>
            html`<tr data-id="${b.id}"><td><a href="/backfills/${b.id}">#${b.id}</a></td><td><a href="/grid/${encodeURIComponent(b.pipeline)}">${b.pipeline}</a></td><td class="key">${rangeText(b)}</td><td><span class="bf-state st-${b.state}">${b.state}</span></td><td>${progressBar(b)}<span class="sub">${progressText(b)}</span></td><td>${fmtTime(b.created_at)}</td></tr>`,
        )
  }</tbody></table></section>`;
}

export function rangeText(b: BackfillStatusJson): string {
  const r = b.request as { from?: string; to?: string; partitionRange?: string; fanned_out?: Record<string, string>[] };
  const range = r.partitionRange ?? `${r.from ?? '?'}..${r.to ?? '?'}`;
  const fixed = (r.fanned_out ?? []).filter((f) => Object.keys(f).length > 0);
  return fixed.length
    ? `${range} × ${fixed.length} (${fixed
        .map((f) => Object.values(f).join('/'))
        .slice(0, 4)
        .join(', ')}${fixed.length > 4 ? ', …' : ''})`
    : range;
}

export function backfillBody(b: BackfillStatusJson): SafeHtml {
  return html`<h1>Backfill #${b.id} <span id="bf-state" class="bf-state st-${b.state}">${b.state}</span>
<span class="actions"><button id="btn-bf-cancel" type="button" class="danger"${b.state === 'running' || b.state === 'enqueuing' ? '' : html` hidden`}>Cancel backfill</button></span></h1>
<p class="sub"><a href="/grid/${encodeURIComponent(b.pipeline)}">${b.pipeline}</a> · ${rangeText(b)} · priority ${b.priority} · reprocess ${b.reprocess} · ${b.downstream ? 'with auto downstream' : 'named pipeline only'}</p>
<p id="action-msg" class="flash" role="status"></p>
<section class="panel"><h2>Progress</h2><div id="bf-bar">${progressBar(b)}</div><p id="bf-progress">${progressText(b)}</p>
<table><thead><tr><th>items</th>${WORK_STATES.map((s) => html`<th class="num">${s}</th>`)}</tr></thead><tbody id="bf-counts">${countRows(b)}</tbody></table></section>
<section class="panel"><h2>Details</h2><dl class="facts"><dt>partitions enqueued</dt><dd id="bf-partitions">${b.partitions}</dd><dt>enqueue</dt><dd>${b.status}${b.error ? ` — ${b.error}` : ''}</dd><dt>created</dt><dd>${fmtTime(b.created_at)}</dd><dt>cancelled</dt><dd>${b.cancelled_at ? fmtTime(b.cancelled_at) : '—'}</dd></dl>
<h2>Request</h2><pre>${JSON.stringify(b.request, null, 2)}</pre></section>`;
}

export function countRows(b: BackfillStatusJson): SafeHtml {
  return html`${(['requested', 'downstream'] as const).map(
    (part) =>
      html`<tr data-part="${part}"><th>${part === 'requested' ? b.pipeline : 'downstream'}</th>${WORK_STATES.map((s) => html`<td class="num" data-state="${s}">${b.progress[part][s]}</td>`)}</tr>`,
  )}`;
}
