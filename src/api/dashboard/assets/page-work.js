// Work list and item pages.
import {
  body,
  el,
  byId,
  safeState,
  badge,
  attemptBadge,
  emptyRow,
  link,
  partitionLabel,
  fmtTime,
  fmtDuration,
  getJson,
  postJson,
  poll,
  flash,
  renderInto,
  tableHead,
} from './common.js';

// Served by the page (pages.ts), derived from the transition table in core/states.ts.
const RETRYABLE = (document.body.dataset.retryable || '').split(',');
const CANCELLABLE = (document.body.dataset.cancellable || '').split(',');

export function workPage() {
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

export function itemPage() {
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
    if (byId('lineage-panel')) {
      const l = await getJson(`/api/v1/work/${id}/lineage`);
      renderInto(byId('lineage-up'), l.upstream, (rows) => lineageRows(rows, 'No upstream: a root pipeline.'));
      renderInto(byId('lineage-down'), l.downstream, (rows) => lineageRows(rows, 'Nothing depends on this partition.'));
    }
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
    ['retry budget', `${i.attempts} of ${i.max_attempts} used`],
    ['attempts in all', i.attempts_total],
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
    tableHead(['#', 'status', 'worker', 'started', 'duration', 'error']),
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
          ? el(
              'tr',
              {},
              el('td', {}),
              el('td', { colspan: 5 }, el('details', { open: idx === 0 }, el('summary', {}, 'output tail'), el('pre', {}, a.output_tail))),
            )
          : null,
      ]),
    ),
  );
}

function eventRows(events) {
  if (events.length === 0) return emptyRow(6, 'No events.');
  return [...events]
    .reverse()
    .map((e) =>
      el(
        'tr',
        {},
        el('td', {}, fmtTime(e.at)),
        el('td', {}, e.event),
        el('td', {}, e.from_state || ''),
        el('td', {}, badge(e.to_state)),
        el('td', {}, e.actor || ''),
        el('td', { class: 'err' }, e.detail || ''),
      ),
    );
}

function lineageRows(rows, none) {
  if (rows.length === 0) return emptyRow(4, none);
  return rows.map((d) =>
    el(
      'tr',
      {},
      el('td', {}, link(`/grid/${encodeURIComponent(d.pipeline)}`, d.pipeline)),
      el('td', { class: 'key' }, d.item_id !== null ? link(`/items/${d.item_id}`, partitionLabel(d.partition_key)) : partitionLabel(d.partition_key)),
      el('td', { class: 'sub' }, `${d.mapping}${d.auto ? ' · auto' : ''}`),
      el('td', {}, d.state ? badge(d.state) : el('span', { class: 'sub' }, 'not enqueued')),
    ),
  );
}
