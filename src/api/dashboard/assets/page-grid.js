// Partition grid page: live cells, shift-click selection and bulk actions.
import { STATES, body, el, byId, safeState, getJson, postJson, poll, flash, renderInto } from './common.js';
import { cellTitle, gridSummary } from './grid-text.js';

export function gridPage() {
  const api = body.dataset.api;
  const refresh = async () => {
    const g = await getJson(api);
    for (const s of STATES) {
      const n = byId(`legend-${s}`);
      if (n) n.textContent = String(g.state_totals[s] || 0);
    }
    const summary = byId('grid-summary');
    if (summary) summary.textContent = gridSummary(g);
    const { scanned_at: _ignored, ...stable } = g;
    const table = byId('grid');
    if (table.dataset.layout) updateCellsInPlace(table, g);
    else renderInto(table, stable, () => gridTable(g));
    markSelected();
  };
  const refreshNow = poll(refresh, 3000);

  // Bulk actions: shift-click (or ctrl/cmd-click) cells to select their items, then retry,
  // re-run (forced) or cancel them all at once through POST /api/v1/work/bulk.
  const selected = new Set();
  const bulk = byId('bulk');
  const itemIdOf = (cell) => {
    const a = cell.querySelector('a[href^="/items/"]');
    return a ? Number(a.getAttribute('href').slice('/items/'.length)) : null;
  };
  function markSelected() {
    for (const cell of document.querySelectorAll('#grid td.cell')) {
      const id = itemIdOf(cell);
      cell.classList.toggle('selected', id !== null && selected.has(id));
    }
    if (bulk) {
      bulk.hidden = selected.size === 0;
      byId('bulk-count').textContent = `${selected.size} selected`;
    }
  }
  byId('grid').addEventListener('click', (event) => {
    const cell = event.target instanceof Element ? event.target.closest('td.cell') : null;
    if (!cell) return;
    if (!(event.shiftKey || event.ctrlKey || event.metaKey)) {
      if (cell.classList.contains('none')) fillLaunchForm(cell);
      return;
    }
    const id = itemIdOf(cell);
    if (id === null) return;
    event.preventDefault();
    if (selected.has(id)) selected.delete(id);
    else selected.add(id);
    markSelected();
  });
  const form = byId('launch');
  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = byId('btn-launch');
      const data = new FormData(form);
      let partition = {};
      if (data.has('__key')) partition = String(data.get('__key'));
      else for (const [k, v] of data.entries()) if (!k.startsWith('__') && v !== '') partition[k] = String(v);
      button.disabled = true;
      try {
        const r = await postJson('/api/v1/launch', { pipeline: form.dataset.pipeline, partition, force: data.has('__force') });
        const verb = r.action === 'created' ? 'launched' : r.action === 'rerun' ? 're-run' : 'already outstanding';
        flash(`${verb}: item #${r.item.id} (${r.item.state}).`, false);
        byId('action-msg').append(' ', el('a', { href: `/items/${r.item.id}`, id: 'launched-item' }, 'open'));
      } catch (err) {
        flash(`Could not launch: ${err.message}`, true);
      } finally {
        button.disabled = false;
        refreshNow();
      }
    });
  }
  for (const button of document.querySelectorAll('#bulk button[data-action]')) {
    button.addEventListener('click', async () => {
      const action = button.getAttribute('data-action');
      if (action === 'clear') {
        selected.clear();
        markSelected();
        return;
      }
      button.disabled = true;
      try {
        const r = await postJson('/api/v1/work/bulk', { action, ids: [...selected], force: action === 'rerun' });
        flash(
          `${action}: ${r.succeeded} item(s) done${
            r.failed
              ? `, ${r.failed} refused (${r.results
                  .filter((x) => !x.ok)
                  .map((x) => `#${x.id}: ${x.error}`)
                  .slice(0, 3)
                  .join('; ')})`
              : ''
          }.`,
          r.failed > 0,
        );
        selected.clear();
      } catch (err) {
        flash(`Could not ${action}: ${err.message}`, true);
      } finally {
        button.disabled = false;
        refreshNow();
      }
    });
  }
}

function gridTable(g) {
  if (g.total_items === 0) return el('tbody', {}, el('tr', {}, el('td', { class: 'empty' }, 'No work items for this pipeline yet.')));
  const head = el(
    'thead',
    {},
    el(
      'tr',
      {},
      el('th', { class: 'corner' }, `${g.row_key || ''}${g.col_key ? ` \u2193 / ${g.col_key} \u2192` : ''}`),
      g.columns.map((c) => el('th', { title: c }, g.col_key ? c : '')),
    ),
  );
  const rows = g.rows.map((r, ri) =>
    el(
      'tr',
      {},
      el('th', { title: r }, r),
      g.columns.map((c, ci) => {
        const cell = g.cells[ri][ci];
        const title = cellTitle(g, r, c, cell);
        if (!cell) return el('td', { class: 'cell none', 'data-row': r, 'data-col': c, title });
        const inner = cell.item_id !== null ? el('a', { href: `/items/${cell.item_id}`, 'aria-label': title }) : el('span', {}, String(cell.count));
        return el('td', { class: `cell s-${safeState(cell.state)}`, 'data-state': cell.state, 'data-row': r, 'data-col': c, title }, inner);
      }),
    ),
  );
  return [head, el('tbody', {}, rows)];
}

/** An empty cell's partition (its row and column values) into the Run now form. */
function fillLaunchForm(cell) {
  const form = byId('launch');
  const table = byId('grid');
  if (!form) return;
  for (const [key, value] of [
    [table.dataset.rowKey, cell.getAttribute('data-row')],
    [table.dataset.colKey, cell.getAttribute('data-col')],
  ]) {
    if (!key || value === null) continue;
    const input = form.elements.namedItem(key);
    if (input) input.value = value;
  }
}

/** Calendar and strip layouts keep their server-rendered shape; the refresh only recolours
 * cells (a value not on the page yet reloads it, at most every 10 s). */
let lastReload = 0;
function updateCellsInPlace(table, g) {
  const byValue = new Map(g.rows.map((r, i) => [r, g.cells[i][0]]));
  const seen = new Set();
  for (const td of table.querySelectorAll('td.cell')) {
    const value = td.getAttribute('data-row');
    seen.add(value);
    const cell = byValue.get(value) || null;
    const sameState = (td.getAttribute('data-state') || null) === (cell ? cell.state : null);
    if (sameState && (!cell || cell.item_id === null || td.querySelector(`a[href="/items/${cell.item_id}"]`))) continue;
    const selected = td.classList.contains('selected');
    td.className = `cell ${cell ? `s-${safeState(cell.state)}` : 'none'}${selected ? ' selected' : ''}`;
    if (cell) td.setAttribute('data-state', cell.state);
    else td.removeAttribute('data-state');
    const title = `${g.row_key}=${value}: ${
      cell
        ? cell.count === 1
          ? cell.state
          : Object.entries(cell.counts)
              .map(([s, n]) => `${n} ${s}`)
              .join(', ')
        : 'no item'
    }`;
    td.title = title;
    td.replaceChildren(
      cell ? (cell.item_id !== null ? el('a', { href: `/items/${cell.item_id}`, 'aria-label': title }) : el('span', {}, String(cell.count))) : '',
    );
  }
  if (g.rows.some((r) => !seen.has(r)) && Date.now() - lastReload > 10000) {
    lastReload = Date.now();
    location.reload();
  }
}
