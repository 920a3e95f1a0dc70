import { CANCELLABLE_STATES, OUTSTANDING_STATES, RETRYABLE_STATES, WORK_STATES, type WorkState } from '../../core/states.js';
import type { SluiceConfig } from '../../config/schema.js';
import type { GridJson } from '../grid.js';
import { parsePartitionKey } from '../../core/partition.js';
import { html, type SafeHtml } from '../html.js';
import { formatInstant } from './assets/time-format.js';
import { cellTitle, gridSummary } from './assets/grid-text.js';

export { cellTitle };
import type { attemptJson, eventJson, ItemJson, overview, recentRuns } from '../queries.js';
import type { ScheduleInfo, SchedulerStatus } from '../scheduler-port.js';
import type { LineageEntry } from '../lineage.js';
import { lineageRows } from './graph-svg.js';
import { calendarTable, oneDimLayout } from './grid-calendar.js';

/**
 * Server-rendered dashboard pages. Every value goes through the `html` template, which
 * escapes it; `assets/dashboard.js` then keeps the same elements (found by id) up to date
 * from the JSON API, writing text with textContent only.
 */

export interface Shell {
  title: string;
  page:
    | 'overview'
    | 'work'
    | 'item'
    | 'grid'
    | 'grid-index'
    | 'schedules'
    | 'backfills'
    | 'backfill'
    | 'error'
    | 'manifest'
    | 'captures'
    | 'diff'
    | 'data'
    | 'graph';
  data?: Record<string, string>;
  database: string;
  authEnabled: boolean;
}

const NAV: Array<[Shell['page'][], string, string]> = [
  [['overview'], '/', 'Overview'],
  [['work', 'item'], '/work', 'Work items'],
  [['grid', 'grid-index'], '/grid', 'Partitions'],
  [['schedules'], '/schedules', 'Schedules'],
  [['backfills', 'backfill'], '/backfills', 'Backfills'],
  [['manifest', 'captures', 'diff', 'data'], '/manifest', 'Data'],
  [['graph'], '/graph', 'Graph'],
];

export function page(shell: Shell, body: SafeHtml): string {
  // The browser script reads the operator actions' states from here (derived from the
  // transition table) instead of restating them.
  const states = { retryable: RETRYABLE_STATES.join(','), cancellable: CANCELLABLE_STATES.join(',') };
  const dataAttrs = Object.entries({ page: shell.page, ...states, ...shell.data }).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · Sluice</title><link rel="stylesheet" href="/assets/dashboard.css"></head>
<body${dataAttrs}>
<header class="top"><span class="brand"><span class="logo">≋</span> Sluice</span>
<nav>${NAV.map(([pages, href, label]) => html`<a href="${href}"${pages.includes(shell.page) ? html` class="active"` : ''}>${label}</a>`)}<a href="/docs">API</a></nav>
<div class="meta"><label class="tz">times <select id="tz-select"><option value="UTC">UTC</option><option value="local">my time zone</option></select></label><span id="live" class="live" title="updates automatically">live</span><span>database: ${shell.database}</span>${
    shell.authEnabled ? html`<form method="post" action="/logout"><button type="submit">Sign out</button></form>` : ''
  }</div></header>
<main>${body}</main>
<script type="module" src="/assets/dashboard.js"></script>
</body></html>`.value;
}

/** An instant as a `<time>` element in UTC (the server cannot know the viewer's zone; the
 * browser script re-renders every `time.instant` in the zone the viewer picks). */
export function fmtTime(iso: string | null | undefined): SafeHtml | '' {
  if (!iso) return '';
  return html`<time class="instant" datetime="${iso}">${formatInstant(iso)}</time>`;
}

/** The same instant in a schedule's own zone, offset and zone name written: shown beside next ticks. */
export function fmtZoned(iso: string, timeZone: string): SafeHtml {
  return html`<time class="zoned" datetime="${iso}" data-zone="${timeZone}">${formatInstant(iso, timeZone, true)}</time>`;
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

export function fmtRelative(iso: string, now = Date.now()): string {
  const d = Date.parse(iso) - now;
  const a = Math.abs(d);
  const text =
    a < 60_000
      ? `${Math.round(a / 1000)}s`
      : a < 3_600_000
        ? `${Math.round(a / 60_000)}m`
        : a < 172_800_000
          ? `${Math.round(a / 3_600_000)}h`
          : `${Math.round(a / 86_400_000)}d`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/** `date=2026-01-05|symbol=A%7CB` -> `date=2026-01-05 · symbol=A|B`: values decoded for people. */
export function partitionLabel(key: string): string {
  try {
    const entries = Object.entries(parsePartitionKey(key));
    return entries.length === 0 ? '(no partition)' : entries.map(([k, v]) => `${k}=${v}`).join(' · ');
  } catch {
    return key;
  }
}

const badge = (state: string) => html`<span class="badge s-${state}">${state}</span>`;
const attemptBadge = (status: string) => html`<span class="badge a-${status}">${status}</span>`;
const num = (n: number) => (n ? html`<td class="num">${n}</td>` : html`<td class="num zero">0</td>`);
const empty = (cols: number, text: string) => html`<tr><td class="empty" colspan="${cols}">${text}</td></tr>`;

// ---------------------------------------------------------------- overview

export type OverviewJson = Awaited<ReturnType<typeof overview>>;
export type RunsJson = Awaited<ReturnType<typeof recentRuns>>;

export function overviewBody(o: OverviewJson, runs: RunsJson): SafeHtml {
  return html`<h1>Overview</h1>
<div class="cards" id="cards">${WORK_STATES.map(
    (s) =>
      html`<a class="card s-${s}${s === 'FAILED' && o.totals[s] ? ' nonzero' : ''}" href="/work?state=${s}" data-state="${s}"><div class="label">${s}</div><div class="n" id="total-${s}">${o.totals[s] ?? 0}</div></a>`,
  )}</div>
<div class="panels">
<section class="panel"><h2>Failing pipelines</h2>
<table><thead><tr><th>pipeline</th><th class="num">failed</th><th class="num">retry wait</th><th>latest failure</th></tr></thead>
<tbody id="failing-body">${failingRows(o.failing)}</tbody></table></section>
<section class="panel"><h2>Next schedule ticks</h2><div id="ticks">${ticksBlock(o)}</div></section>
</div>
<section class="panel"><h2>Pipelines</h2>
<table><thead><tr><th>pipeline</th>${WORK_STATES.map((s) => html`<th class="num">${s}</th>`)}<th></th></tr></thead>
<tbody id="pipelines-body">${pipelineRows(o.pipelines)}</tbody></table></section>
<section class="panel"><h2>Recent runs</h2>
<table><thead><tr><th>started</th><th>item</th><th>pipeline</th><th>partition</th><th>attempt</th><th>duration</th><th>error</th></tr></thead>
<tbody id="runs-body">${runRows(runs.runs)}</tbody></table></section>`;
}

export function failingRows(failing: OverviewJson['failing']): SafeHtml {
  if (failing.length === 0) return empty(4, 'No failing pipelines.');
  return html`${failing.map(
    (f) =>
      html`<tr><td><a href="/grid/${encodeURIComponent(f.pipeline)}">${f.pipeline}</a></td><td class="num">${f.failed}</td>${num(f.retry_wait)}<td class="err">${
        f.latest_item_id !== null
          ? html`<a href="/items/${f.latest_item_id}">#${f.latest_item_id}</a> <span class="key">${partitionLabel(f.latest_partition_key ?? '')}</span><br>`
          : ''
      }${f.latest_error ?? ''}</td></tr>`,
  )}`;
}

export function ticksBlock(o: OverviewJson): SafeHtml {
  if (!o.scheduler_attached) return html`<p class="empty">No scheduler is attached to this process.</p>`;
  if (!o.scheduler) return html`<p class="flash error">Scheduler unavailable: ${o.scheduler_error ?? 'unknown error'}</p>`;
  const s = o.scheduler.status;
  return html`<p class="sub">scheduler ${s.running ? 'running' : 'stopped'}${s.leader ? ' · leader' : ''} · ${s.schedules} schedules · last tick ${s.last_tick_at ? fmtTime(s.last_tick_at) : 'never'}</p>
<table><thead><tr><th>when</th><th></th><th>schedule</th><th>pipeline</th></tr></thead><tbody>${
    o.scheduler.next_ticks.length === 0
      ? empty(4, 'No upcoming ticks.')
      : o.scheduler.next_ticks.map(
          (t) =>
            html`<tr><td>${fmtTime(t.at)}<br><span class="sub">${fmtZoned(t.at, t.timezone)}</span></td><td class="sub">${fmtRelative(t.at)}</td><td>${t.schedule}</td><td>${t.pipeline}</td></tr>`,
        )
  }</tbody></table>`;
}

export function pipelineRows(pipelines: OverviewJson['pipelines']): SafeHtml {
  if (pipelines.length === 0) return empty(WORK_STATES.length + 2, 'No work items yet.');
  return html`${pipelines.map(
    (p) =>
      html`<tr><td><a href="/grid/${encodeURIComponent(p.pipeline)}">${p.pipeline}</a></td>${WORK_STATES.map((s) => num(p[s] ?? 0))}<td><a href="/work?pipeline=${encodeURIComponent(p.pipeline)}&amp;state=ALL">list</a></td></tr>`,
  )}`;
}

export function runRows(runs: RunsJson['runs']): SafeHtml {
  if (runs.length === 0) return empty(7, 'No attempts yet.');
  return html`${runs.map(
    (r) =>
      html`<tr><td>${fmtTime(r.started_at)}</td><td><a href="/items/${r.item_id}">#${r.item_id}</a></td><td>${r.domain}.${r.pipeline}</td><td class="key">${partitionLabel(r.partition_key)}</td><td>${attemptBadge(r.status)} <span class="sub">#${r.attempt_no}</span></td><td>${fmtDuration(r.duration_ms)}</td><td class="err">${r.error ?? ''}</td></tr>`,
  )}`;
}

// ---------------------------------------------------------------- work list

export interface ListView {
  items: ItemJson[];
  total: number;
  limit: number;
  offset: number;
  state: string;
  domain: string;
  pipeline: string;
  domains: string[];
  pipelines: string[];
}

export function listQuery(v: { state: string; domain: string; pipeline: string; limit: number }, offset: number): string {
  const q = new URLSearchParams();
  if (v.state) q.set('state', v.state);
  if (v.domain) q.set('domain', v.domain);
  if (v.pipeline) q.set('pipeline', v.pipeline);
  q.set('limit', String(v.limit));
  if (offset) q.set('offset', String(offset));
  return q.toString();
}

export function listBody(v: ListView): SafeHtml {
  const stateOptions: Array<[string, string]> = [
    ['ALL', 'all states'],
    [OUTSTANDING_STATES.filter((s) => s !== 'RUNNING').join(','), 'waiting to run (PENDING, RETRY_WAIT, WAITING)'],
    ...WORK_STATES.map((s): [string, string] => [s, s]),
  ];
  const option = (value: string, label: string, selected: string) =>
    html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;
  return html`<h1>Work items <span class="sub" id="list-count">${countText(v.total, v.offset, v.items.length)}</span></h1>
<form class="filters" method="get" action="/work">
<label>state<select name="state">${stateOptions.map(([value, label]) => option(value, label, v.state))}</select></label>
<label>domain<select name="domain">${option('', 'any domain', v.domain)}${v.domains.map((d) => option(d, d, v.domain))}</select></label>
<label>pipeline<select name="pipeline">${option('', 'any pipeline', v.pipeline)}${v.pipelines.map((p) => option(p, p, v.pipeline))}</select></label>
<label>per page<select name="limit">${[25, 50, 100, 200].map((n) => option(String(n), String(n), String(v.limit)))}</select></label>
<button type="submit">Apply</button></form>
<section class="panel">
<table><thead><tr><th>id</th><th>pipeline</th><th>partition</th><th>state</th><th class="num">attempts</th><th class="num">priority</th><th>desired at</th><th>updated</th><th>last error</th></tr></thead>
<tbody id="work-body">${workRows(v.items)}</tbody></table>
<div class="pager" id="pager">${pager(v)}</div></section>`;
}

export function countText(total: number, offset: number, shown: number): string {
  if (total === 0) return 'no items';
  return `${offset + 1}–${offset + shown} of ${total}`;
}

function pager(v: ListView): SafeHtml {
  const prev = Math.max(0, v.offset - v.limit);
  const next = v.offset + v.limit;
  return html`<a href="/work?${listQuery(v, prev)}" class="${v.offset === 0 ? 'disabled' : ''}" id="prev">← newer</a>
<a href="/work?${listQuery(v, next)}" class="${next >= v.total ? 'disabled' : ''}" id="next">older →</a>`;
}

export function workRows(items: ItemJson[]): SafeHtml {
  if (items.length === 0) return empty(9, 'No work items match.');
  return html`${items.map(
    (i) =>
      html`<tr data-id="${i.id}"><td><a href="/items/${i.id}">#${i.id}</a></td><td>${i.domain}.${i.pipeline}</td><td class="key">${partitionLabel(i.partition_key)}</td><td>${badge(i.state)}</td><td class="num">${i.attempts}/${i.max_attempts}</td><td class="num">${i.priority}</td><td>${fmtTime(i.desired_at)}</td><td>${fmtTime(i.updated_at)}</td><td class="err">${i.last_error ?? ''}</td></tr>`,
  )}`;
}

// ---------------------------------------------------------------- item

export interface ItemView {
  item: ItemJson;
  attempts: ReturnType<typeof attemptJson>[];
  events: ReturnType<typeof eventJson>[];
  dependencies: Array<{ pipeline: string; partition_key: string; state: WorkState | null; item_id: number | null; last_error: string | null }>;
  lineage?: { upstream: LineageEntry[]; downstream: LineageEntry[] };
}

export function itemBody(v: ItemView): SafeHtml {
  const i = v.item;
  return html`<h1>Work item #${i.id} <span id="item-state" class="badge s-${i.state}">${i.state}</span>
<span class="actions"><button id="btn-retry" type="button"${RETRYABLE_STATES.includes(i.state) ? '' : html` hidden`}>Retry</button>
<button id="btn-cancel" type="button" class="danger"${CANCELLABLE_STATES.includes(i.state) ? '' : html` hidden`}>Cancel</button></span></h1>
<p class="sub item-sub">${i.domain}.${i.pipeline} · ${partitionLabel(i.partition_key)}</p>
<p id="action-msg" class="flash" role="status"></p>
<div class="panels">
<section class="panel"><h2>Details</h2><dl class="facts" id="facts">${facts(i)}</dl></section>
<section class="panel"><h2>Partition</h2><table><tbody id="partition-body">${Object.entries(i.partition).map(
    ([k, val]) => html`<tr><th>${k}</th><td class="key">${val}</td></tr>`,
  )}</tbody></table>
<h2>Params</h2><pre id="params">${JSON.stringify(i.params, null, 2)}</pre></section>
</div>
<section class="panel" id="deps-panel"${v.dependencies.length ? '' : html` hidden`}><h2>Upstream dependencies</h2><table><thead><tr><th>pipeline</th><th>partition</th><th>state</th></tr></thead>
<tbody id="deps-body">${dependencyRows(v.dependencies)}</tbody></table></section>
${v.lineage ? lineagePanel(v.lineage) : ''}
<section class="panel" id="last-error-panel"${i.last_error ? '' : html` hidden`}><h2>Last error</h2><pre class="error" id="last-error">${i.last_error ?? ''}</pre></section>
<section class="panel"><h2>Attempts</h2><div id="attempts">${attemptsBlock(v.attempts)}</div></section>
<section class="panel"><h2>Events</h2><table><thead><tr><th>at</th><th>event</th><th>from</th><th>to</th><th>actor</th><th>detail</th></tr></thead>
<tbody id="events-body">${eventRows(v.events)}</tbody></table></section>`;
}

/** Upstream and downstream partitions of the item in the pipeline graph, with states. */
function lineagePanel(l: NonNullable<ItemView['lineage']>): SafeHtml {
  const head = html`<thead><tr><th>pipeline</th><th>partition</th><th>mapping</th><th>state</th></tr></thead>`;
  return html`<section class="panel" id="lineage-panel"><h2>Lineage <span class="sub"><a href="/graph">graph</a></span></h2><div class="panels"><div><h3>Upstream</h3><table>${head}<tbody id="lineage-up">${lineageRows(l.upstream, 'No upstream: a root pipeline.')}</tbody></table></div>
<div><h3>Downstream</h3><table>${head}<tbody id="lineage-down">${lineageRows(l.downstream, 'Nothing depends on this partition.')}</tbody></table></div></div></section>`;
}

export function facts(i: ItemJson): SafeHtml {
  const rows: Array<[string, unknown]> = [
    ['pipeline', html`<a href="/grid/${encodeURIComponent(`${i.domain}.${i.pipeline}`)}">${i.domain}.${i.pipeline}</a>`],
    ['partition key', html`<span class="key">${i.partition_key}</span>`],
    // Two counts, two names: the retry budget restarts on a manual retry or re-run, the
    // history (attempt #1, #2, … below) never does.
    ['retry budget', `${i.attempts} of ${i.max_attempts} used`],
    ['attempts in all', i.attempts_total],
    ['priority', i.priority],
    ['desired at', fmtTime(i.desired_at)],
    ['locked by', i.locked_by ?? '—'],
    ['lease expires', i.lease_expires_at ? fmtTime(i.lease_expires_at) : '—'],
    ['created', fmtTime(i.created_at)],
    ['updated', fmtTime(i.updated_at)],
    ['finished', i.finished_at ? fmtTime(i.finished_at) : '—'],
  ];
  return html`${rows.map(([k, val]) => html`<dt>${k}</dt><dd>${val}</dd>`)}`;
}

export function dependencyRows(deps: ItemView['dependencies']): SafeHtml {
  return html`${deps.map(
    (d) =>
      html`<tr><td>${d.pipeline}</td><td class="key">${d.item_id !== null ? html`<a href="/items/${d.item_id}">${partitionLabel(d.partition_key)}</a>` : partitionLabel(d.partition_key)}</td><td>${d.state ? badge(d.state) : html`<span class="sub">not enqueued</span>`}</td></tr>`,
  )}`;
}

export function attemptsBlock(attempts: ItemView['attempts']): SafeHtml {
  if (attempts.length === 0) return html`<p class="empty">No attempts yet.</p>`;
  const newest = [...attempts].reverse();
  return html`<table><thead><tr><th>#</th><th>status</th><th>worker</th><th>started</th><th>duration</th><th>error</th></tr></thead><tbody>${newest.map(
    (a, idx) =>
      html`<tr data-attempt="${a.id}"><td>${a.attempt_no}</td><td>${attemptBadge(a.status)}</td><td class="mono">${a.worker_id}</td><td>${fmtTime(a.started_at)}</td><td>${fmtDuration(a.duration_ms)}</td><td class="err">${a.error ?? ''}</td></tr>${
        a.output_tail !== null
          ? html`<tr><td></td><td colspan="5"><details${idx === 0 ? html` open` : ''}><summary>output tail</summary><pre>${a.output_tail}</pre></details></td></tr>`
          : ''
      }`,
  )}</tbody></table>`;
}

export function eventRows(events: ItemView['events']): SafeHtml {
  if (events.length === 0) return empty(6, 'No events.');
  return html`${[...events]
    .reverse()
    .map(
      (e) =>
        html`<tr><td>${fmtTime(e.at)}</td><td>${e.event}</td><td>${e.from_state ?? ''}</td><td>${badge(e.to_state)}</td><td>${e.actor ?? ''}</td><td class="err">${e.detail ?? ''}</td></tr>`,
    )}`;
}

// ---------------------------------------------------------------- grid

export function gridIndexBody(pipelines: Array<{ pipeline: string; description: string | null; items: number }>): SafeHtml {
  return html`<h1>Partitions</h1><section class="panel"><table><thead><tr><th>pipeline</th><th class="num">items</th><th>description</th></tr></thead><tbody>${
    pipelines.length === 0
      ? empty(3, 'No pipelines.')
      : pipelines.map(
          (p) =>
            html`<tr><td><a href="/grid/${encodeURIComponent(p.pipeline)}">${p.pipeline}</a></td>${num(p.items)}<td class="sub">${p.description ?? ''}</td></tr>`,
        )
  }</tbody></table></section>`;
}

export function gridQueryString(
  g: Pick<GridJson, 'row_key' | 'col_key'> & { explicitRows?: string; explicitCols?: string },
  offset: number,
  colOffset: number,
  limit: number,
  colLimit: number,
): string {
  const q = new URLSearchParams();
  if (g.explicitRows) q.set('rows', g.explicitRows);
  if (g.explicitCols) q.set('cols', g.explicitCols);
  q.set('limit', String(limit));
  q.set('col_limit', String(colLimit));
  if (offset) q.set('offset', String(offset));
  if (colOffset) q.set('col_offset', String(colOffset));
  return q.toString();
}

export function gridBody(g: GridJson, explicit: { rows?: string; cols?: string }, extras: { launch?: SafeHtml } = {}): SafeHtml {
  const layout = oneDimLayout(g);
  const base = `/grid/${encodeURIComponent(g.pipeline)}`;
  const qs = (offset: number, colOffset: number) =>
    gridQueryString({ ...g, explicitRows: explicit.rows, explicitCols: explicit.cols }, offset, colOffset, g.limit, g.col_limit);
  const option = (value: string, selected: string | undefined, label = value) =>
    html`<option value="${value}"${value === (selected ?? '') ? html` selected` : ''}>${label}</option>`;
  const keys = g.dimensions.map((d) => d.key);
  return html`<h1>Partitions <span class="sub">${g.pipeline}</span></h1>
<form class="filters" method="get" action="${base}">
<label>rows<select name="rows">${option('', explicit.rows, `automatic (${g.row_key ?? 'none'})`)}${keys.map((k) => option(k, explicit.rows))}</select></label>
<label>columns<select name="cols">${option('', explicit.cols, `automatic (${g.col_key ?? 'none'})`)}${keys.map((k) => option(k, explicit.cols))}</select></label>
<input type="hidden" name="limit" value="${g.limit}"><input type="hidden" name="col_limit" value="${g.col_limit}">
<button type="submit">Apply</button> <a href="/work?pipeline=${encodeURIComponent(g.pipeline)}&amp;state=ALL">list items</a></form>
<div class="legend">${WORK_STATES.map((s) => html`<span><i class="s-${s}"></i>${s} <b id="legend-${s}">${g.state_totals[s] ?? 0}</b></span>`)}<span><i class="none"></i>no item</span></div>
<p class="sub" id="grid-summary">${gridSummary(g)}</p>
<p class="sub">Shift-click cells to select them for a bulk action.</p>
<p id="action-msg" class="flash" role="status"></p>
<div id="bulk" class="bulk" hidden><span id="bulk-count">0 selected</span> <button type="button" data-action="retry">Retry selected</button> <button type="button" data-action="rerun" class="secondary">Re-run selected (force)</button> <button type="button" data-action="cancel" class="danger">Cancel selected</button> <button type="button" data-action="clear" class="secondary">Clear</button></div>
<div class="grid-wrap">${
    layout
      ? html`<table class="grid calendar" id="grid" data-layout="${layout}" data-row-key="${g.row_key ?? ''}">${calendarTable(g, layout)}</table>`
      : html`<table class="grid" id="grid" data-row-key="${g.row_key ?? ''}" data-col-key="${g.col_key ?? ''}">${gridTable(g)}</table>`
  }</div>
${extras.launch ?? ''}
<div class="pager">
<a href="${base}?${qs(Math.max(0, g.offset - g.limit), g.col_offset)}" class="${g.offset === 0 ? 'disabled' : ''}">↑ previous rows</a>
<a href="${base}?${qs(g.offset + g.limit, g.col_offset)}" class="${g.offset + g.limit >= g.total_rows ? 'disabled' : ''}">next rows ↓</a>
<a href="${base}?${qs(g.offset, Math.max(0, g.col_offset - g.col_limit))}" class="${g.col_offset === 0 ? 'disabled' : ''}">← previous columns</a>
<a href="${base}?${qs(g.offset, g.col_offset + g.col_limit)}" class="${g.col_offset + g.col_limit >= g.total_columns ? 'disabled' : ''}">next columns →</a>
</div>`;
}

export function gridTable(g: GridJson & { deadline?: { missed_item_ids: number[] } | null }): SafeHtml {
  const missed = new Set(g.deadline?.missed_item_ids ?? []);
  if (g.total_items === 0) return html`<tbody><tr><td class="empty">No work items for this pipeline yet.</td></tr></tbody>`;
  return html`<thead><tr><th class="corner">${g.row_key ?? ''}${g.col_key ? ` \u2193 / ${g.col_key} \u2192` : ''}</th>${g.columns.map(
    (c) => html`<th title="${c}">${g.col_key ? c : ''}</th>`,
  )}</tr></thead><tbody>${g.rows.map(
    (r, ri) =>
      html`<tr><th title="${r}">${r}</th>${g.columns.map((c, ci) => {
        const cell = g.cells[ri]![ci] ?? null;
        const late = cell?.item_id != null && missed.has(cell.item_id);
        const title = cellTitle(g, r, c, cell) + (late ? ' (missed its deadline)' : '');
        if (!cell) return html`<td class="cell none" data-row="${r}" data-col="${c}" title="${title}"></td>`;
        const inner = cell.item_id !== null ? html`<a href="/items/${cell.item_id}" aria-label="${title}"></a>` : html`<span>${cell.count}</span>`;
        return html`<td class="cell s-${cell.state}${late ? ' deadline-missed' : ''}" data-state="${cell.state}" data-row="${r}" data-col="${c}" title="${title}">${inner}</td>`;
      })}</tr>`,
  )}</tbody>`;
}

// ---------------------------------------------------------------- schedules

export function schedulesBody(
  attached: boolean,
  status: SchedulerStatus | null,
  schedules: ScheduleInfo[],
  configured: SluiceConfig['schedules'],
  error: string | null,
): SafeHtml {
  if (!attached) {
    return html`<h1>Schedules</h1>
<p class="flash error">No scheduler is attached to this process, so schedules are not running here.</p>
<section class="panel"><h2>Configured schedules</h2><table><thead><tr><th>name</th><th>pipeline</th><th>cron / at</th><th>calendar</th><th>timezone</th><th>enabled</th></tr></thead><tbody>${
      configured.length === 0
        ? empty(6, 'No schedules in the config.')
        : configured.map(
            (s) =>
              html`<tr><td>${s.name}</td><td>${s.pipeline}</td><td class="mono">${s.cron ?? s.at ?? ''}</td><td>${s.calendar ?? ''}</td><td>${s.timezone ?? ''}</td><td>${s.enabled === false ? 'no' : 'yes'}</td></tr>`,
          )
    }</tbody></table></section>`;
  }
  return html`<h1>Schedules <span id="sched-status" class="badge ${status?.running ? 's-COMPLETE' : 's-CANCELLED'}">${status ? (status.running ? 'running' : 'stopped') : 'unknown'}</span>
<span class="actions"><button id="btn-sched-start" type="button" class="secondary"${status?.running ? html` hidden` : ''}>Start scheduler</button><button id="btn-sched-stop" type="button" class="secondary"${status?.running ? '' : html` hidden`}>Stop scheduler</button></span></h1>
<p class="sub" id="sched-meta">${status ? schedulerMeta(status) : ''}</p>
<p id="action-msg" class="flash${error ? ' error' : ''}" role="status">${error ?? ''}</p>
<div id="schedules">${scheduleSections(schedules)}</div>`;
}

export function schedulerMeta(s: SchedulerStatus): string {
  return `${s.schedules} schedules · ${s.leader ? 'this process is the leader (fires ticks)' : 'not the leader'} · last tick ${s.last_tick_at ? formatInstant(s.last_tick_at) : 'never'}`;
}

export function scheduleSections(schedules: ScheduleInfo[]): SafeHtml {
  if (schedules.length === 0) return html`<section class="panel"><p class="empty">No schedules.</p></section>`;
  return html`${schedules.map(
    (
      s,
    ) => html`<section class="panel schedule" data-name="${s.name}"><h2>${s.name} <span class="sub">→ ${s.pipeline}</span>${s.enabled ? '' : html` <span class="badge s-CANCELLED">disabled</span>`}${s.paused ? html` <span class="badge s-RETRY_WAIT paused">paused</span>` : ''}
<button type="button" class="secondary trigger" data-name="${s.name}">Trigger now</button> <button type="button" class="secondary pause" data-name="${s.name}" data-action="${s.paused ? 'resume' : 'pause'}">${s.paused ? 'Resume' : 'Pause'}</button></h2>
<dl class="facts"><dt>when</dt><dd class="mono">${s.cron ?? s.at ?? ''}</dd><dt>calendar</dt><dd>${s.calendar ?? '—'}</dd><dt>timezone</dt><dd>${s.timezone}</dd>
<dt>next fire times</dt><dd>${s.next_fire_times.length === 0 ? '—' : html`<ul class="ticks">${s.next_fire_times.slice(0, 3).map((t) => html`<li>${fmtTime(t)} <span class="sub">· ${fmtZoned(t, s.timezone)} · ${fmtRelative(t)}</span></li>`)}</ul>`}</dd></dl>
<table><thead><tr><th>scheduled</th><th>fired</th><th>lateness</th><th>outcome</th><th>detail</th></tr></thead><tbody>${
      s.recent_ticks.length === 0
        ? empty(5, 'No ticks yet.')
        : s.recent_ticks.map(
            (t) =>
              html`<tr><td>${fmtTime(t.scheduled_at)}</td><td>${fmtTime(t.fired_at)}</td><td>${t.fired_at ? fmtDuration(Date.parse(t.fired_at) - Date.parse(t.scheduled_at)) : ''}</td><td><span class="tick-outcome o-${t.outcome}">${t.outcome}</span></td><td class="${t.outcome === 'failed' || t.outcome === 'error' ? 'err' : 'detail'}">${t.detail ?? ''}</td></tr>`,
          )
    }</tbody></table></section>`,
  )}`;
}
