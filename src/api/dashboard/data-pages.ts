import type { CaptureRecord, ManifestEntry } from '../../data/data-store.js';
import type { DataAnomaly } from '../../data/anomaly-checks.js';
import type { DataRow, Dataset } from '../../data/dataset.js';
import type { CaptureDiff } from '../capture-diff.js';
import { html, type SafeHtml } from '../html.js';
import { fmtTime, partitionLabel } from './pages.js';

/**
 * Data pages: the manifest as a readiness board, the captures of a domain's partitions
 * (hash, rows, revision summary, anomalies), the diff of a restatement and as-of reads.
 * Server-rendered only: captures change at landing time, a reload shows the next one.
 */

const STAGE_ORDER = ['ingest', 'normalize'];
const stageRank = (s: string) => (STAGE_ORDER.includes(s) ? STAGE_ORDER.indexOf(s) : STAGE_ORDER.length);
const byStage = (a: string, b: string) => stageRank(a) - stageRank(b) || a.localeCompare(b);
const q = (params: Record<string, string | undefined>) => new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => !!e[1])).toString();
const shortHash = (h: string | null) => (h ? h.slice(0, 12) : '—');

export function dataNav(current: 'manifest' | 'captures' | 'data', domain?: string): SafeHtml {
  const items: Array<[typeof current, string, string]> = [
    ['manifest', `/manifest${domain ? `?domain=${encodeURIComponent(domain)}` : ''}`, 'Readiness (manifest)'],
    ['captures', `/captures${domain ? `?domain=${encodeURIComponent(domain)}` : ''}`, 'Captures'],
    ['data', '/data', 'Datasets (as-of reads)'],
  ];
  return html`<p class="subnav">${items.map(([k, href, label]) => html`<a href="${href}"${k === current ? html` class="active"` : ''}>${label}</a> `)}</p>`;
}

// ---------------------------------------------------------------- manifest

export function manifestBody(entries: ManifestEntry[], domain: string | undefined, domains: string[]): SafeHtml {
  // One board per domain and partition shape: weekly-only stages (the analytics) and
  // week × tier stages (ingest, normalize) would otherwise show each other as missing.
  const byDomain = new Map<string, ManifestEntry[]>();
  for (const e of entries) {
    const shape = `${e.domain}\u0000${e.partition_key
      .split('|')
      .map((pair) => pair.split('=')[0])
      .join(' × ')}`;
    byDomain.set(shape, [...(byDomain.get(shape) ?? []), e]);
  }
  return html`<h1>Readiness <span class="sub">latest capture per (domain, partition, stage)</span></h1>
${dataNav('manifest', domain)}
<form class="filters" method="get" action="/manifest"><label>domain<select name="domain"><option value="">every domain</option>${domains.map(
    (d) => html`<option value="${d}"${d === domain ? html` selected` : ''}>${d}</option>`,
  )}</select></label><button type="submit">Apply</button></form>
${byDomain.size === 0 ? html`<section class="panel"><p class="empty">Nothing has landed yet.</p></section>` : [...byDomain].map(([shape, list]) => manifestBoard(list[0]!.domain, shape.split('\u0000')[1]!, list))}`;
}

function manifestBoard(domain: string, shape: string, list: ManifestEntry[]): SafeHtml {
  const stages = [...new Set(list.map((e) => e.stage))].sort(byStage);
  const partitions = [...new Set(list.map((e) => e.partition_key))].sort().reverse();
  const at = new Map(list.map((e) => [`${e.partition_key}\u0000${e.stage}`, e]));
  return html`<section class="panel manifest" data-domain="${domain}"><h2>${domain} <span class="sub">by ${shape || 'no partition'} · ${partitions.length} partitions · ${stages.length} stages</span></h2>
<table class="board"><thead><tr><th>partition</th>${stages.map((s) => html`<th>${s}</th>`)}</tr></thead><tbody>${partitions.map(
    (p) =>
      html`<tr data-partition="${p}"><th class="key"><a href="/captures?${q({ domain, partition_key: p })}">${partitionLabel(p)}</a></th>${stages.map((s) => {
        const e = at.get(`${p}\u0000${s}`);
        if (!e) return html`<td class="missing" data-stage="${s}" title="${s}: nothing landed">—</td>`;
        return html`<td class="ready" data-stage="${s}" title="${e.capture_id} · ${e.dataset} · hash ${e.content_hash}"><a href="/captures?${q({ domain, partition_key: p, stage: s })}">${e.row_count} rows</a><br><span class="sub">${fmtTime(e.captured_at.toISOString())}</span></td>`;
      })}</tr>`,
  )}</tbody></table></section>`;
}

// ---------------------------------------------------------------- captures

export interface CapturesView {
  domain: string;
  partitionKey?: string;
  stage?: string;
  domains: string[];
  captures: CaptureRecord[];
  anomalies: DataAnomaly[];
}

export function capturesBody(v: CapturesView): SafeHtml {
  const anomaliesOf = new Map<string, DataAnomaly[]>();
  for (const a of v.anomalies) anomaliesOf.set(a.capture_id, [...(anomaliesOf.get(a.capture_id) ?? []), a]);
  const newest = [...v.captures].reverse();
  return html`<h1>Captures <span class="sub">${v.domain}${v.partitionKey ? html` · ${partitionLabel(v.partitionKey)}` : ''}${v.stage ? ` · ${v.stage}` : ''}</span></h1>
${dataNav('captures', v.domain)}
<form class="filters" method="get" action="/captures"><label>domain<select name="domain">${v.domains.map((d) => html`<option value="${d}"${d === v.domain ? html` selected` : ''}>${d}</option>`)}</select></label>
<label>partition key<input name="partition_key" value="${v.partitionKey ?? ''}" placeholder="tier=OTC|week_ending=2025-12-19"></label>
<label>stage<input name="stage" value="${v.stage ?? ''}" placeholder="ingest"></label><button type="submit">Apply</button></form>
<section class="panel"><p class="sub">${v.captures.length} captures, newest first. A revision is a capture that restates an earlier one of the same partition and stage.</p>
<table id="captures"><thead><tr><th>captured</th><th>capture</th><th>partition</th><th>stage · dataset</th><th>status</th><th class="num">rows</th><th>hash</th><th>revision</th><th>anomalies</th><th></th></tr></thead><tbody>${
    newest.length === 0
      ? html`<tr><td class="empty" colspan="10">No captures match.</td></tr>`
      : newest.map((c) => captureRow(c, anomaliesOf.get(c.capture_id) ?? []))
  }</tbody></table></section>`;
}

function captureRow(c: CaptureRecord, anomalies: DataAnomaly[]): SafeHtml {
  const r = c.revision_summary;
  const revision = c.is_revision
    ? html`<span class="badge s-RETRY_WAIT revision">revision</span> <span class="rev-summary">+${r?.rows_added ?? 0} −${r?.rows_removed ?? 0} ~${r?.rows_changed ?? 0}</span>`
    : html`<span class="sub">first</span>`;
  const rowsLink = html`<a href="/data/${encodeURIComponent(c.domain)}/${encodeURIComponent(c.dataset)}?${q({ as_of: c.capture_id })}">rows</a>`;
  return html`<tr data-capture="${c.capture_id}" class="${c.is_revision ? 'is-revision' : ''}"><td>${fmtTime(c.captured_at.toISOString())}</td><td class="mono">${c.capture_id}</td><td class="key">${partitionLabel(c.partition_key)}</td><td>${c.stage} · ${c.dataset}</td>
<td>${c.status === 'landed' ? html`<span class="badge s-COMPLETE">landed</span>` : html`<span class="badge s-FAILED">failed</span>`}${c.error ? html`<br><span class="err">${c.error}</span>` : ''}</td><td class="num">${c.row_count ?? '—'}</td><td class="mono" title="${c.content_hash}">${shortHash(c.content_hash)}</td><td>${revision}</td>
<td>${anomalies.length === 0 ? html`<span class="sub">none</span>` : html`<ul class="anomalies">${anomalies.map((a) => html`<li class="sev-${a.severity}"><b>${a.severity}</b> ${a.check}: ${a.message}</li>`)}</ul>`}</td>
<td>${c.status === 'landed' ? html`${rowsLink}${c.is_revision ? html` · <a class="diff-link" href="/captures/diff?${q({ capture_id: c.capture_id })}">diff</a>` : ''}` : ''}</td></tr>`;
}

// ---------------------------------------------------------------- diff

export function diffBody(d: CaptureDiff): SafeHtml {
  const cols = (rows: DataRow[]) => [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const rowsTable = (id: string, rows: DataRow[], total: number, what: string) => {
    const names = cols(rows);
    return html`<section class="panel" id="${id}"><h2>${what} <span class="sub">${total}${total > rows.length ? ` (showing ${rows.length})` : ''}</span></h2>${
      rows.length === 0
        ? html`<p class="empty">None.</p>`
        : html`<table><thead><tr>${names.map((n) => html`<th>${n}</th>`)}</tr></thead><tbody>${rows.map((r) => html`<tr>${names.map((n) => html`<td>${cell(r[n])}</td>`)}</tr>`)}</tbody></table>`
    }</section>`;
  };
  return html`<h1>Restatement <span class="sub">${d.domain}.${d.dataset} · ${partitionLabel(d.partition_key)} · ${d.stage}</span></h1>
${dataNav('captures', d.domain)}
<section class="panel"><dl class="facts"><dt>new capture</dt><dd class="mono">${d.capture.capture_id} · ${fmtTime(d.capture.captured_at)} · ${d.capture.row_count ?? '—'} rows · ${shortHash(d.capture.content_hash)}</dd>
<dt>against</dt><dd class="mono">${d.against ? html`${d.against.capture_id} · ${fmtTime(d.against.captured_at)} · ${d.against.row_count ?? '—'} rows · ${shortHash(d.against.content_hash)}` : 'nothing (first capture: every row is added)'}</dd>
<dt>compared on</dt><dd>${d.primary_key.join(', ')}</dd></dl>
<p id="diff-counts" class="diff-counts"><span class="added">+${d.counts.added} added</span> <span class="removed">−${d.counts.removed} removed</span> <span class="changed">~${d.counts.changed} changed</span> <span class="sub">${d.counts.unchanged} unchanged</span></p></section>
<section class="panel" id="diff-changed"><h2>Changed <span class="sub">${d.counts.changed}${d.counts.changed > d.changed.length ? ` (showing ${d.changed.length})` : ''}</span></h2>${
    d.changed.length === 0
      ? html`<p class="empty">None.</p>`
      : html`<table><thead><tr><th>key</th><th>column</th><th>before</th><th>after</th></tr></thead><tbody>${d.changed.map((c) =>
          c.columns.map(
            (col, i) =>
              html`<tr>${
                i === 0
                  ? html`<td class="key" rowspan="${c.columns.length}">${Object.entries(c.key)
                      .map(([k, v]) => `${k}=${String(v)}`)
                      .join(' · ')}</td>`
                  : ''
              }<td>${col}</td><td class="before">${cell(c.before[col])}</td><td class="after">${cell(c.after[col])}</td></tr>`,
          ),
        )}</tbody></table>`
  }</section>
${rowsTable('diff-added', d.added, d.counts.added, 'Added')}
${rowsTable('diff-removed', d.removed, d.counts.removed, 'Removed')}`;
}

const cell = (v: unknown) => (v === null || v === undefined ? html`<span class="sub">null</span>` : String(v));

// ---------------------------------------------------------------- datasets and as-of reads

export function dataIndexBody(published: Record<string, Record<string, Dataset>>): SafeHtml {
  return html`<h1>Datasets</h1>${dataNav('data')}<section class="panel"><table><thead><tr><th>domain</th><th>dataset</th><th>primary key</th><th></th></tr></thead><tbody>${Object.entries(
    published,
  ).flatMap(([domain, sets]) =>
    Object.values(sets).map(
      (ds) =>
        html`<tr><td>${domain}</td><td><a href="/data/${encodeURIComponent(domain)}/${encodeURIComponent(ds.name)}">${ds.name}</a></td><td class="mono">${ds.primaryKey.join(', ')}</td><td><a href="/captures?${q({ domain })}">captures</a> · <a href="/manifest?${q({ domain })}">readiness</a></td></tr>`,
    ),
  )}</tbody></table></section>`;
}

export const DATA_PAGE_ROWS = 500;

export function datasetBody(ds: Dataset, v: { asOf?: string; filters: Record<string, string>; rows: DataRow[] }): SafeHtml {
  const names = ['partition_key', ...ds.columns.map((c) => c.name)];
  const shown = v.rows.slice(0, DATA_PAGE_ROWS);
  const filterKeys = ['partition_key', ...ds.primaryKey];
  return html`<h1>${ds.domain}.${ds.name} <span class="sub" id="as-of-label">${v.asOf ? `as of ${v.asOf}` : 'latest captures'}</span></h1>
${dataNav('data', ds.domain)}
<form class="filters" method="get" action="/data/${encodeURIComponent(ds.domain)}/${encodeURIComponent(ds.name)}">
<label>as of<input name="as_of" id="as-of" value="${v.asOf ?? ''}" placeholder="2026-01-05T00:00:00Z or a capture id"></label>
${filterKeys.map((k) => html`<label>${k}<input name="${k}" value="${v.filters[k] ?? ''}"></label>`)}
<button type="submit">Read</button> <a href="/data/${encodeURIComponent(ds.domain)}/${encodeURIComponent(ds.name)}">latest</a></form>
<section class="panel"><p class="sub" id="row-count">${v.rows.length} rows${v.rows.length > shown.length ? ` (showing the first ${shown.length}; narrow with the filters or use GET /api/v1/data)` : ''}</p>
<table id="rows"><thead><tr>${names.map((n) => html`<th>${n}</th>`)}<th>capture</th></tr></thead><tbody>${
    shown.length === 0
      ? html`<tr><td class="empty" colspan="${names.length + 1}">No rows.</td></tr>`
      : shown.map((r) => html`<tr>${names.map((n) => html`<td>${cell(r[n])}</td>`)}<td class="mono">${cell(r.capture_id)}</td></tr>`)
  }</tbody></table></section>`;
}
