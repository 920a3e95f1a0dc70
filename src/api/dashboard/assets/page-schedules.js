// Schedules page: scheduler start/stop, per-schedule trigger and pause/resume.
import {
  body,
  el,
  byId,
  safeClass,
  emptyRow,
  fmtText,
  fmtTime,
  fmtZoned,
  fmtDuration,
  fmtRelative,
  getJson,
  postJson,
  poll,
  flash,
  renderInto,
  tableHead,
} from './common.js';

export function schedulesPage() {
  if (body.dataset.attached !== '1') return;
  const refresh = async () => {
    const [status, data] = await Promise.all([getJson('/api/v1/scheduler/status'), getJson('/api/v1/schedules')]);
    const badgeEl = byId('sched-status');
    badgeEl.textContent = status.running ? 'running' : 'stopped';
    badgeEl.className = `badge ${status.running ? 's-COMPLETE' : 's-CANCELLED'}`;
    byId('btn-sched-start').hidden = status.running;
    byId('btn-sched-stop').hidden = !status.running;
    byId('sched-meta').textContent =
      `${status.schedules} schedules · ${status.leader ? 'this process is the leader (fires ticks)' : 'not the leader'} · last tick ${status.last_tick_at ? fmtText(status.last_tick_at) : 'never'}`;
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
        el(
          'button',
          { type: 'button', class: 'secondary pause', 'data-name': s.name, 'data-action': s.paused ? 'resume' : 'pause' },
          s.paused ? 'Resume' : 'Pause',
        ),
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
            : el(
                'ul',
                { class: 'ticks' },
                s.next_fire_times
                  .slice(0, 3)
                  .map((t) => el('li', {}, fmtTime(t), ' ', el('span', { class: 'sub' }, '· ', fmtZoned(t, s.timezone), ` · ${fmtRelative(t)}`))),
              ),
        ),
      ),
      el(
        'table',
        {},
        tableHead(['scheduled', 'fired', 'lateness', 'outcome', 'detail']),
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
