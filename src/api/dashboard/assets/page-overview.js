// Overview page: totals, failing pipelines, next ticks, pipelines, recent runs.
import {
  STATES,
  el,
  byId,
  attemptBadge,
  numCell,
  emptyRow,
  link,
  partitionLabel,
  fmtText,
  fmtTime,
  fmtZoned,
  fmtDuration,
  fmtRelative,
  getJson,
  poll,
  renderInto,
  tableHead,
} from './common.js';

export function overviewPage() {
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
                f.latest_item_id !== null
                  ? [
                      link(`/items/${f.latest_item_id}`, `#${f.latest_item_id}`),
                      ' ',
                      el('span', { class: 'key' }, partitionLabel(f.latest_partition_key || '')),
                      el('br'),
                    ]
                  : null,
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
    el(
      'p',
      { class: 'sub' },
      `scheduler ${s.running ? 'running' : 'stopped'}${s.leader ? ' · leader' : ''} · ${s.schedules} schedules · last tick ${s.last_tick_at ? fmtText(s.last_tick_at) : 'never'}`,
    ),
    el(
      'table',
      {},
      tableHead(['when', '', 'schedule', 'pipeline']),
      el(
        'tbody',
        {},
        o.scheduler.next_ticks.length === 0
          ? emptyRow(4, 'No upcoming ticks.')
          : o.scheduler.next_ticks.map((t) =>
              el(
                'tr',
                {},
                el('td', {}, fmtTime(t.at), el('br'), el('span', { class: 'sub' }, fmtZoned(t.at, t.timezone))),
                el('td', { class: 'sub' }, fmtRelative(t.at)),
                el('td', {}, t.schedule),
                el('td', {}, t.pipeline),
              ),
            ),
      ),
    ),
  ];
}

export function runRows(runs) {
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
