// Sluice dashboard: keeps server-rendered pages live by polling the JSON API.
// Loaded as a module so it shares the server's time rule (time-format.js) verbatim.
import { formatInstant, viewerZone } from './time-format.js';

// Rule: data only ever reaches the page through textContent / attribute setters, never
// innerHTML, so partition values, errors and output are always shown as text.
(() => {
  'use strict';

  const STATES = ['WAITING', 'PENDING', 'RUNNING', 'RETRY_WAIT', 'COMPLETE', 'FAILED', 'CANCELLED'];
  const ATTEMPT_STATUSES = ['running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'interrupted'];
  const body = document.body;
  // Served by the page (pages.ts), derived from the transition table in core/states.ts.
  const RETRYABLE = (body.dataset.retryable || '').split(',');
  const CANCELLABLE = (body.dataset.cancellable || '').split(',');
  const page = body.dataset.page;

  // ------------------------------------------------------------------ helpers

  /** el('td', {class: 'num'}, 'text', childNode) — strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'hidden') node.hidden = Boolean(v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const byId = (id) => document.getElementById(id);
  const safeState = (s) => (STATES.includes(s) ? s : 'PENDING');
  const safeStatus = (s) => (ATTEMPT_STATUSES.includes(s) ? s : 'lost');
  const safeClass = (s) => String(s).replace(/[^A-Za-z0-9_-]/g, '_');
  const badge = (state) => el('span', { class: `badge s-${safeState(state)}` }, state);
  const attemptBadge = (status) => el('span', { class: `badge a-${safeStatus(status)}` }, status);
  const numCell = (n) => el('td', { class: n ? 'num' : 'num zero' }, String(n || 0));
  const emptyRow = (cols, text) => el('tr', {}, el('td', { class: 'empty', colspan: cols }, text));
  const link = (href, text, attrs) => el('a', { href, ...(attrs || {}) }, text);

  /** `date=2026-01-05|symbol=A%7CB` -> `date=2026-01-05 · symbol=A|B` (values decoded). */
  function partitionLabel(key) {
    if (!key || key === '-') return '(no partition)';
    return key
      .split('|')
      .map((pair) => {
        const eq = pair.indexOf('=');
        let value = pair.slice(eq + 1);
        try {
          value = decodeURIComponent(value);
        } catch {
          /* show as stored */
        }
        return `${pair.slice(0, eq)}=${value}`;
      })
      .join(' · ');
  }

  // Times: UTC unless the viewer picked their own zone (kept in localStorage). Every instant is
  // a <time class="instant" datetime=ISO>, so a change of zone re-renders them all in place.
  const ZONE_KEY = 'sluice.times';
  let zoneChoice = 'UTC';
  try {
    zoneChoice = localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'UTC';
  } catch {
    /* storage blocked: stay on UTC */
  }
  const displayZone = () => (zoneChoice === 'local' ? viewerZone() : 'UTC');
  /** An instant as text in the chosen zone, its offset written. */
  const fmtText = (iso) => formatInstant(iso, displayZone(), zoneChoice === 'local');
  /** An instant as a <time> element (re-zoned when the choice changes). */
  function fmtTime(iso) {
    if (!iso) return '';
    return el('time', { class: 'instant', datetime: iso }, fmtText(iso));
  }
  /** An instant in a fixed zone (a schedule's own), offset and zone name written. */
  const fmtZoned = (iso, zone) => el('time', { class: 'zoned', datetime: iso, 'data-zone': zone }, formatInstant(iso, zone, true));
  function rezoneAll() {
    for (const t of document.querySelectorAll('time.instant')) t.textContent = fmtText(t.getAttribute('datetime'));
  }
  const zoneSelect = document.getElementById('tz-select');
  if (zoneSelect) {
    zoneSelect.value = zoneChoice;
    zoneSelect.addEventListener('change', () => {
      zoneChoice = zoneSelect.value === 'local' ? 'local' : 'UTC';
      try {
        localStorage.setItem(ZONE_KEY, zoneChoice);
      } catch {
        /* not persisted */
      }
      rezoneAll();
    });
    if (zoneChoice !== 'UTC') rezoneAll();
  }
  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return '';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60000)}m ${Math.round((ms % 60000) / 1000)}s`;
  }
  function fmtRelative(iso) {
    const d = Date.parse(iso) - Date.now();
    const a = Math.abs(d);
    const t = a < 60000 ? `${Math.round(a / 1000)}s` : a < 3600000 ? `${Math.round(a / 60000)}m` : a < 172800000 ? `${Math.round(a / 3600000)}h` : `${Math.round(a / 86400000)}d`;
    return d >= 0 ? `in ${t}` : `${t} ago`;
  }

  function toLogin() {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  }

  async function request(method, url, payload) {
    const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
    if (payload !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    const res = await fetch(url, init);
    if (res.status === 401) {
      toLogin();
      throw new Error('sign-in required');
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      /* not JSON */
    }
    if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
    return data;
  }
  const getJson = (url) => request('GET', url);
  const postJson = (url, payload) => request('POST', url, payload);

  function setLive(ok) {
    const live = byId('live');
    if (!live) return;
    live.classList.toggle('stale', !ok);
    live.textContent = ok ? 'live' : 'reconnecting…';
  }

  /** Runs `tick` now-ish and then every `ms`, pausing while the tab is hidden. */
  function poll(tick, ms) {
    let timer = null;
    let inflight = null;
    const run = async () => {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      if (inflight) return inflight;
      inflight = (async () => {
        try {
          await tick();
          setLive(true);
        } catch (err) {
          setLive(false);
          if (window.console) console.warn('sluice: refresh failed', err);
        }
      })();
      await inflight;
      inflight = null;
      if (!document.hidden && timer === null) timer = setTimeout(run, ms);
    };
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && timer === null && !inflight) run();
    });
    timer = setTimeout(run, Math.min(ms, 1000));
    return run;
  }

  function flash(text, isError) {
    const msg = byId('action-msg');
    if (!msg) return;
    msg.textContent = text;
    msg.classList.toggle('error', Boolean(isError));
  }

  /** Replaces a node's children only when the data behind them changed (keeps <details>
   * open/closed and text selections stable between polls). */
  const lastRendered = new WeakMap();
  function renderInto(node, data, build) {
    if (!node) return;
    const key = JSON.stringify(data);
    if (lastRendered.get(node) === key) return;
    lastRendered.set(node, key);
    node.replaceChildren(...[build(data)].flat());
  }

  // ------------------------------------------------------------------ overview

  function overviewPage() {
    const refresh = async () => {
      const [o, runs] = await Promise.all([getJson('/api/v1/overview'), getJson('/api/v1/runs?limit=10')]);
      for (const s of STATES) {
        const n = byId(`total-${s}`);
        if (n) n.textContent = String(o.totals[s] || 0);
      }
      const failedCard = document.querySelector('.card.s-FAILED');
      if (failedCard) failedCard.classList.toggle('nonzero', (o.totals.FAILED || 0) > 0);
      renderInto(byId('failing-body'), o.failing, (failing) =>
        failing.length === 0
          ? emptyRow(4, 'No failing pipelines.')
          : failing.map((f) =>
              el(
                'tr',
                {},
                el('td', {}, link(`/grid/${encodeURIComponent(f.pipeline)}`, f.pipeline)),
                el('td', { class: 'num' }, String(f.failed)),
                numCell(f.retry_wait),
                el(
                  'td',
                  { class: 'err' },
                  f.latest_item_id !== null ? [link(`/items/${f.latest_item_id}`, `#${f.latest_item_id}`), ' ', el('span', { class: 'key' }, partitionLabel(f.latest_partition_key || '')), el('br')] : null,
                  f.latest_error || '',
                ),
              ),
            ),
      );
      renderInto(byId('ticks'), { s: o.scheduler, a: o.scheduler_attached, e: o.scheduler_error, minute: Math.floor(Date.now() / 15000) }, () => ticksBlock(o));
      renderInto(byId('pipelines-body'), o.pipelines, (pipelines) =>
        pipelines.length === 0
          ? emptyRow(STATES.length + 2, 'No work items yet.')
          : pipelines.map((p) =>
              el(
                'tr',
                {},
                el('td', {}, link(`/grid/${encodeURIComponent(p.pipeline)}`, p.pipeline)),
                STATES.map((s) => numCell(p[s] || 0)),
                el('td', {}, link(`/work?pipeline=${encodeURIComponent(p.pipeline)}&state=ALL`, 'list')),
              ),
            ),
      );
      renderInto(byId('runs-body'), runs.runs, runRows);
    };
    poll(refresh, 2000);
  }

  function ticksBlock(o) {
    if (!o.scheduler_attached) return el('p', { class: 'empty' }, 'No scheduler is attached to this process.');
    if (!o.scheduler) return el('p', { class: 'flash error' }, `Scheduler unavailable: ${o.scheduler_error || 'unknown error'}`);
    const s = o.scheduler.status;
    return [
      el('p', { class: 'sub' }, `scheduler ${s.running ? 'running' : 'stopped'}${s.leader ? ' · leader' : ''} · ${s.schedules} schedules · last tick ${s.last_tick_at ? fmtText(s.last_tick_at) : 'never'}`),
      el(
        'table',
        {},
        el('thead', {}, el('tr', {}, ['when', '', 'schedule', 'pipeline'].map((h) => el('th', {}, h)))),
        el(
          'tbody',
          {},
          o.scheduler.next_ticks.length === 0
            ? emptyRow(4, 'No upcoming ticks.')
            : o.scheduler.next_ticks.map((t) => el('tr', {}, el('td', {}, fmtTime(t.at), el('br'), el('span', { class: 'sub' }, fmtZoned(t.at, t.timezone))), el('td', { class: 'sub' }, fmtRelative(t.at)), el('td', {}, t.schedule), el('td', {}, t.pipeline))),
        ),
      ),
    ];
  }

  function runRows(runs) {
    if (runs.length === 0) return emptyRow(7, 'No attempts yet.');
    return runs.map((r) =>
      el(
        'tr',
        {},
        el('td', {}, fmtTime(r.started_at)),
        el('td', {}, link(`/items/${r.item_id}`, `#${r.item_id}`)),
        el('td', {}, `${r.domain}.${r.pipeline}`),
        el('td', { class: 'key' }, partitionLabel(r.partition_key)),
        el('td', {}, attemptBadge(r.status), ' ', el('span', { class: 'sub' }, `#${r.attempt_no}`)),
        el('td', {}, fmtDuration(r.duration_ms)),
        el('td', { class: 'err' }, r.error || ''),
      ),
    );
  }

  // ------------------------------------------------------------------ work list

  function workPage() {
    const api = body.dataset.api;
    const refresh = async () => {
      const data = await getJson(api);
      const count = byId('list-count');
      if (count) count.textContent = data.total === 0 ? 'no items' : `${data.offset + 1}–${data.offset + data.items.length} of ${data.total}`;
      const next = byId('next');
      if (next) next.classList.toggle('disabled', data.offset + data.limit >= data.total);
      renderInto(byId('work-body'), data.items, (items) =>
        items.length === 0
          ? emptyRow(9, 'No work items match.')
          : items.map((i) =>
              el(
                'tr',
                { 'data-id': i.id },
                el('td', {}, link(`/items/${i.id}`, `#${i.id}`)),
                el('td', {}, `${i.domain}.${i.pipeline}`),
                el('td', { class: 'key' }, partitionLabel(i.partition_key)),
                el('td', {}, badge(i.state)),
                el('td', { class: 'num' }, `${i.attempts}/${i.max_attempts}`),
                el('td', { class: 'num' }, String(i.priority)),
                el('td', {}, fmtTime(i.desired_at)),
                el('td', {}, fmtTime(i.updated_at)),
                el('td', { class: 'err' }, i.last_error || ''),
              ),
            ),
      );
    };
    poll(refresh, 3000);
  }

  // ------------------------------------------------------------------ item

  function itemPage() {
    const id = Number(body.dataset.itemId);
    const refresh = async () => {
      const data = await getJson(`/api/v1/work/${id}`);
      const i = data.item;
      const state = byId('item-state');
      state.textContent = i.state;
      state.className = `badge s-${safeState(i.state)}`;
      byId('btn-retry').hidden = !RETRYABLE.includes(i.state);
      byId('btn-cancel').hidden = !CANCELLABLE.includes(i.state);
      renderInto(byId('facts'), i, facts);
      const errPanel = byId('last-error-panel');
      errPanel.hidden = !i.last_error;
      byId('last-error').textContent = i.last_error || '';
      byId('deps-panel').hidden = data.dependencies.length === 0;
      renderInto(byId('deps-body'), data.dependencies, (deps) =>
        deps.map((d) =>
          el(
            'tr',
            {},
            el('td', {}, d.pipeline),
            el('td', { class: 'key' }, d.item_id !== null ? link(`/items/${d.item_id}`, partitionLabel(d.partition_key)) : partitionLabel(d.partition_key)),
            el('td', {}, d.state ? badge(d.state) : el('span', { class: 'sub' }, 'not enqueued')),
          ),
        ),
      );
      renderInto(byId('attempts'), data.attempts, attemptsBlock);
      renderInto(byId('events-body'), data.events, eventRows);
    };
    const refreshNow = poll(refresh, 1000);
    const act = (button, url, verb) => {
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await postJson(url, { id });
          flash(`${verb} item #${id}.`, false);
        } catch (err) {
          flash(`Could not ${verb.toLowerCase()}: ${err.message}`, true);
        } finally {
          button.disabled = false;
          refreshNow();
        }
      });
    };
    act(byId('btn-retry'), '/api/v1/work/retry', 'Retried');
    act(byId('btn-cancel'), '/api/v1/work/cancel', 'Cancelled');
  }

  function facts(i) {
    const rows = [
      ['pipeline', link(`/grid/${encodeURIComponent(`${i.domain}.${i.pipeline}`)}`, `${i.domain}.${i.pipeline}`)],
      ['partition key', el('span', { class: 'key' }, i.partition_key)],
      ['attempts', `${i.attempts} of ${i.max_attempts}`],
      ['priority', String(i.priority)],
      ['desired at', fmtTime(i.desired_at)],
      ['locked by', i.locked_by || '—'],
      ['lease expires', i.lease_expires_at ? fmtTime(i.lease_expires_at) : '—'],
      ['created', fmtTime(i.created_at)],
      ['updated', fmtTime(i.updated_at)],
      ['finished', i.finished_at ? fmtTime(i.finished_at) : '—'],
    ];
    return rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
  }

  function attemptsBlock(attempts) {
    if (attempts.length === 0) return el('p', { class: 'empty' }, 'No attempts yet.');
    const newest = [...attempts].reverse();
    return el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ['#', 'status', 'worker', 'started', 'duration', 'error'].map((h) => el('th', {}, h)))),
      el(
        'tbody',
        {},
        newest.flatMap((a, idx) => [
          el(
            'tr',
            { 'data-attempt': a.id },
            el('td', {}, String(a.attempt_no)),
            el('td', {}, attemptBadge(a.status)),
            el('td', { class: 'mono' }, a.worker_id),
            el('td', {}, fmtTime(a.started_at)),
            el('td', {}, fmtDuration(a.duration_ms)),
            el('td', { class: 'err' }, a.error || ''),
          ),
          a.output_tail !== null
            ? el('tr', {}, el('td', {}), el('td', { colspan: 5 }, el('details', { open: idx === 0 }, el('summary', {}, 'output tail'), el('pre', {}, a.output_tail))))
            : null,
        ]),
      ),
    );
  }

  function eventRows(events) {
    if (events.length === 0) return emptyRow(6, 'No events.');
    return [...events]
      .reverse()
      .map((e) => el('tr', {}, el('td', {}, fmtTime(e.at)), el('td', {}, e.event), el('td', {}, e.from_state || ''), el('td', {}, badge(e.to_state)), el('td', {}, e.actor || ''), el('td', { class: 'err' }, e.detail || '')));
  }

  // ------------------------------------------------------------------ grid

  function gridPage() {
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
      renderInto(byId('grid'), stable, () => gridTable(g));
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
      if (!(event.shiftKey || event.ctrlKey || event.metaKey)) return;
      const cell = event.target instanceof Element ? event.target.closest('td.cell') : null;
      if (!cell) return;
      const id = itemIdOf(cell);
      if (id === null) return;
      event.preventDefault();
      if (selected.has(id)) selected.delete(id);
      else selected.add(id);
      markSelected();
    });
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
          flash(`${action}: ${r.succeeded} item(s) done${r.failed ? `, ${r.failed} refused (${r.results.filter((x) => !x.ok).map((x) => `#${x.id}: ${x.error}`).slice(0, 3).join('; ')})` : ''}.`, r.failed > 0);
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

  function gridSummary(g) {
    const parts = [`${g.total_items} items`];
    parts.push(`rows: ${g.row_key || '—'} ${g.total_rows ? `${g.offset + 1}–${g.offset + g.rows.length} of ${g.total_rows}` : ''}`.trim());
    if (g.col_key) parts.push(`columns: ${g.col_key} ${g.total_columns ? `${g.col_offset + 1}–${g.col_offset + g.columns.length} of ${g.total_columns}` : ''}`.trim());
    if (g.folded_keys.length) parts.push(`folded into cells: ${g.folded_keys.join(', ')}`);
    if (g.truncated) parts.push('truncated: too many items to scan');
    return parts.join(' · ');
  }

  function cellTitle(g, row, col, cell) {
    const where = [g.row_key ? `${g.row_key}=${row}` : null, g.col_key ? `${g.col_key}=${col}` : null].filter(Boolean).join(', ');
    if (!cell) return `${where}: no item`;
    if (cell.count === 1) return `${where}: ${cell.state}`;
    return `${where}: ${Object.entries(cell.counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')}`;
  }

  function gridTable(g) {
    if (g.total_items === 0) return el('tbody', {}, el('tr', {}, el('td', { class: 'empty' }, 'No work items for this pipeline yet.')));
    const head = el(
      'thead',
      {},
      el('tr', {}, el('th', { class: 'corner' }, `${g.row_key || ''}${g.col_key ? ` \u2193 / ${g.col_key} \u2192` : ''}`), g.columns.map((c) => el('th', { title: c }, g.col_key ? c : ''))),
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

  // ------------------------------------------------------------------ schedules

  function schedulesPage() {
    if (body.dataset.attached !== '1') return;
    const refresh = async () => {
      const [status, data] = await Promise.all([getJson('/api/v1/scheduler/status'), getJson('/api/v1/schedules')]);
      const badgeEl = byId('sched-status');
      badgeEl.textContent = status.running ? 'running' : 'stopped';
      badgeEl.className = `badge ${status.running ? 's-COMPLETE' : 's-CANCELLED'}`;
      byId('btn-sched-start').hidden = status.running;
      byId('btn-sched-stop').hidden = !status.running;
      byId('sched-meta').textContent = `${status.schedules} schedules · ${status.leader ? 'this process is the leader (fires ticks)' : 'not the leader'} · last tick ${status.last_tick_at ? fmtText(status.last_tick_at) : 'never'}`;
      renderInto(byId('schedules'), { s: data.schedules, t: Math.floor(Date.now() / 15000) }, () => scheduleSections(data.schedules));
    };
    const refreshNow = poll(refresh, 5000);
    for (const action of ['start', 'stop']) {
      const button = byId(`btn-sched-${action}`);
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await postJson(`/api/v1/scheduler/${action}`);
          flash(`Scheduler ${action === 'start' ? 'started' : 'stopped'}.`, false);
        } catch (err) {
          flash(`Could not ${action} the scheduler: ${err.message}`, true);
        } finally {
          button.disabled = false;
          refreshNow();
        }
      });
    }
    byId('schedules').addEventListener('click', async (event) => {
      const pause = event.target instanceof Element ? event.target.closest('button.pause') : null;
      if (pause) {
        const name = pause.getAttribute('data-name');
        const action = pause.getAttribute('data-action') === 'resume' ? 'resume' : 'pause';
        pause.disabled = true;
        try {
          await postJson(`/api/v1/schedules/${encodeURIComponent(name)}/${action}`, {});
          flash(`${action === 'pause' ? 'Paused' : 'Resumed'} ${name}.`, false);
        } catch (err) {
          flash(`Could not ${action} ${name}: ${err.message}`, true);
        } finally {
          pause.disabled = false;
          refreshNow();
        }
        return;
      }
      const button = event.target instanceof Element ? event.target.closest('button.trigger') : null;
      if (!button) return;
      const name = button.getAttribute('data-name');
      button.disabled = true;
      try {
        const r = await postJson(`/api/v1/schedules/${encodeURIComponent(name)}/trigger`);
        flash(`Triggered ${name}: ${r.enqueued} item(s) enqueued.`, false);
      } catch (err) {
        flash(`Could not trigger ${name}: ${err.message}`, true);
      } finally {
        button.disabled = false;
        refreshNow();
      }
    });
  }

  function scheduleSections(schedules) {
    if (schedules.length === 0) return el('section', { class: 'panel' }, el('p', { class: 'empty' }, 'No schedules.'));
    return schedules.map((s) =>
      el(
        'section',
        { class: 'panel schedule', 'data-name': s.name },
        el(
          'h2',
          {},
          s.name,
          ' ',
          el('span', { class: 'sub' }, `→ ${s.pipeline}`),
          s.enabled ? null : [' ', el('span', { class: 'badge s-CANCELLED' }, 'disabled')],
          s.paused ? [' ', el('span', { class: 'badge s-RETRY_WAIT paused' }, 'paused')] : null,
          ' ',
          el('button', { type: 'button', class: 'secondary trigger', 'data-name': s.name }, 'Trigger now'),
          ' ',
          el('button', { type: 'button', class: 'secondary pause', 'data-name': s.name, 'data-action': s.paused ? 'resume' : 'pause' }, s.paused ? 'Resume' : 'Pause'),
        ),
        el(
          'dl',
          { class: 'facts' },
          el('dt', {}, 'when'),
          el('dd', { class: 'mono' }, s.cron || s.at || ''),
          el('dt', {}, 'calendar'),
          el('dd', {}, s.calendar || '—'),
          el('dt', {}, 'timezone'),
          el('dd', {}, s.timezone),
          el('dt', {}, 'next fire times'),
          el(
            'dd',
            {},
            s.next_fire_times.length === 0
              ? '—'
              : el('ul', { class: 'ticks' }, s.next_fire_times.slice(0, 3).map((t) => el('li', {}, fmtTime(t), ' ', el('span', { class: 'sub' }, '· ', fmtZoned(t, s.timezone), ` · ${fmtRelative(t)}`)))),
          ),
        ),
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, ['scheduled', 'fired', 'lateness', 'outcome', 'detail'].map((h) => el('th', {}, h)))),
          el(
            'tbody',
            {},
            s.recent_ticks.length === 0
              ? emptyRow(5, 'No ticks yet.')
              : s.recent_ticks.map((t) =>
                  el(
                    'tr',
                    {},
                    el('td', {}, fmtTime(t.scheduled_at)),
                    el('td', {}, fmtTime(t.fired_at)),
                    el('td', {}, t.fired_at ? fmtDuration(Date.parse(t.fired_at) - Date.parse(t.scheduled_at)) : ''),
                    el('td', {}, el('span', { class: `tick-outcome o-${safeClass(t.outcome)}` }, t.outcome)),
                    el('td', { class: t.outcome === 'failed' || t.outcome === 'error' ? 'err' : 'detail' }, t.detail || ''),
                  ),
                ),
          ),
        ),
      ),
    );
  }

  // ------------------------------------------------------------------ start

  // ------------------------------------------------------------------ backfills

  const BACKFILL_STATES = ['enqueuing', 'running', 'done', 'cancelled', 'failed'];
  function progressText(b) {
    const p = b.progress;
    const eta = p.outstanding === 0 ? 'finished' : p.eta_seconds === null ? 'ETA unknown' : `ETA ${p.eta_seconds}s`;
    return `${p.finished}/${p.total} items finished (${p.percent}%) · ${p.complete} complete · ${p.failed} failed · ${p.outstanding} outstanding · ${p.rate_per_minute === null ? '—' : p.rate_per_minute}/min · ${eta}`;
  }
  function progressBar(b) {
    return el('progress', { class: 'bf-bar', max: Math.max(b.progress.total, 1), value: b.progress.finished, title: `${b.progress.percent}%` }, `${b.progress.percent}%`);
  }

  function backfillPage() {
    const id = Number(body.dataset.backfillId);
    const refresh = async () => {
      const b = await getJson(`/api/v1/backfills/${id}`);
      const state = byId('bf-state');
      state.textContent = b.state;
      state.className = `bf-state st-${BACKFILL_STATES.includes(b.state) ? b.state : 'running'}`;
      byId('btn-bf-cancel').hidden = !(b.state === 'running' || b.state === 'enqueuing');
      renderInto(byId('bf-bar'), b.progress, () => progressBar(b));
      byId('bf-progress').textContent = progressText(b);
      byId('bf-partitions').textContent = String(b.partitions);
      renderInto(byId('bf-counts'), b.progress, () =>
        ['requested', 'downstream'].map((part) =>
          el('tr', { 'data-part': part }, el('th', {}, part === 'requested' ? b.pipeline : 'downstream'), STATES.map((s) => el('td', { class: 'num', 'data-state': s }, String(b.progress[part][s] || 0)))),
        ),
      );
    };
    const refreshNow = poll(refresh, 1000);
    const button = byId('btn-bf-cancel');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const r = await postJson(`/api/v1/backfills/${id}/cancel`, {});
        flash(`Cancelled backfill #${id}: ${r.cancelled} item(s) cancelled.`, false);
      } catch (err) {
        flash(`Could not cancel: ${err.message}`, true);
      } finally {
        button.disabled = false;
        refreshNow();
      }
    });
  }

  const pages = { overview: overviewPage, work: workPage, item: itemPage, grid: gridPage, schedules: schedulesPage, backfill: backfillPage };
  if (pages[page]) pages[page]();
})();
