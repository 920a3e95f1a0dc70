import type { GridJson } from '../grid.js';
import { html, type SafeHtml } from '../html.js';
import type { PartitionField } from '../partition-fields.js';
import { cellTitle } from './pages.js';

/**
 * One-dimensional partition sets, which a rows × columns grid would show as one long strip:
 * dates become a calendar (days × weeks; weekly dates such as week_ending, weeks × years),
 * other values a strip wrapped at STRIP_WIDTH cells. Cells keep the grid's markup
 * (td.cell, data-row = the partition value) so selection, bulk actions and the live
 * refresh work the same.
 */
export const CALENDAR_PAGE = 366;
const STRIP_WIDTH = 25;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY = 86_400_000;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export type OneDimLayout = 'days' | 'weeks' | 'strip';

/** The layout of a grid with one partition key, or null for a two-dimensional grid. */
export function oneDimLayout(g: GridJson): OneDimLayout | null {
  if (g.col_key !== null || g.row_key === null || g.total_items === 0) return null;
  const dates = g.rows.filter((r) => ISO_DATE.test(r));
  if (dates.length !== g.rows.length) return 'strip';
  const weekdays = new Set(dates.map((d) => new Date(`${d}T00:00:00Z`).getUTCDay()));
  return weekdays.size === 1 && dates.length > 1 ? 'weeks' : 'days';
}

const mondayOf = (iso: string) => {
  const t = Date.parse(`${iso}T00:00:00Z`);
  const dow = (new Date(t).getUTCDay() + 6) % 7;
  return new Date(t - dow * DAY).toISOString().slice(0, 10);
};
const weekOfYear = (iso: string) => Math.floor((Date.parse(`${iso}T00:00:00Z`) - Date.parse(`${iso.slice(0, 4)}-01-01T00:00:00Z`)) / DAY / 7) + 1;

function cellFor(g: GridJson, value: string, ri: number): SafeHtml {
  const col = g.columns[0] ?? '';
  const cell = g.cells[ri]?.[0] ?? null;
  const title = cellTitle(g, value, col, cell);
  if (!cell) return html`<td class="cell none" data-row="${value}" title="${title}"></td>`;
  const inner = cell.item_id !== null ? html`<a href="/items/${cell.item_id}" aria-label="${title}"></a>` : html`<span>${cell.count}</span>`;
  return html`<td class="cell s-${cell.state}" data-state="${cell.state}" data-row="${value}" title="${title}">${inner}</td>`;
}

export function calendarTable(g: GridJson, layout: OneDimLayout): SafeHtml {
  const index = new Map(g.rows.map((r, i) => [r, i]));
  if (layout === 'strip') {
    const lines: string[][] = [];
    for (let i = 0; i < g.rows.length; i += STRIP_WIDTH) lines.push(g.rows.slice(i, i + STRIP_WIDTH));
    return html`<tbody>${lines.map((line) => html`<tr><th title="${line[0]}">${line[0]}</th>${line.map((v) => cellFor(g, v, index.get(v)!))}</tr>`)}</tbody>`;
  }
  if (layout === 'days') {
    const weeks = [...new Set(g.rows.map(mondayOf))].sort().reverse();
    const byDay = new Map(g.rows.map((r) => [r, r]));
    return html`<thead><tr><th class="corner">week of ↓ / day →</th>${WEEKDAYS.map((d) => html`<th>${d}</th>`)}</tr></thead><tbody>${weeks.map((monday) => {
      const t = Date.parse(`${monday}T00:00:00Z`);
      return html`<tr><th>${monday}</th>${WEEKDAYS.map((_d, i) => {
        const day = new Date(t + i * DAY).toISOString().slice(0, 10);
        return byDay.has(day) ? cellFor(g, day, index.get(day)!) : html`<td class="pad" title="${day}: not in this page"></td>`;
      })}</tr>`;
    })}</tbody>`;
  }
  const years = [...new Set(g.rows.map((r) => r.slice(0, 4)))].sort().reverse();
  const at = new Map(g.rows.map((r) => [`${r.slice(0, 4)}:${weekOfYear(r)}`, r]));
  const weeks = Array.from({ length: 53 }, (_x, i) => i + 1);
  return html`<thead><tr><th class="corner">year ↓ / week →</th>${weeks.map((w) => html`<th>${w}</th>`)}</tr></thead><tbody>${years.map(
    (y) =>
      html`<tr><th>${y}</th>${weeks.map((w) => {
        const v = at.get(`${y}:${w}`);
        return v ? cellFor(g, v, index.get(v)!) : html`<td class="pad"></td>`;
      })}</tr>`,
  )}</tbody>`;
}

/** "Run now": enqueue (or with force re-run) one partition through POST /api/v1/launch. */
export function launchPanel(pipeline: string, fields: PartitionField[] | null): SafeHtml {
  const inputs =
    fields === null
      ? html`<label>partition key<input name="__key" placeholder="date=2026-01-05|symbol=AAPL" required></label>`
      : fields.map((f) =>
          f.values
            ? html`<label>${f.key}<select name="${f.key}">${f.optional ? html`<option value="">—</option>` : ''}${f.values.map((v) => html`<option value="${v}">${v}</option>`)}</select></label>`
            : html`<label>${f.key}<input name="${f.key}"${f.optional ? '' : html` required`}></label>`,
        );
  return html`<section class="panel"><h2>Run now</h2><form id="launch" class="launch filters" data-pipeline="${pipeline}">${inputs}
<label class="check"><input type="checkbox" name="__force"> re-run if complete (force)</label><button type="submit" id="btn-launch">Run now</button></form>
<p class="sub">Click an empty cell to fill the form with its partition.</p></section>`;
}
