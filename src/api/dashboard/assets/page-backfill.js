// Backfill page: progress by state, rate, ETA, cancel.
import { STATES, body, el, byId, getJson, postJson, poll, flash, renderInto } from './common.js';

const BACKFILL_STATES = ['enqueuing', 'running', 'done', 'cancelled', 'failed'];
function progressText(b) {
  const p = b.progress;
  const eta = p.outstanding === 0 ? 'finished' : p.eta_seconds === null ? 'ETA unknown' : `ETA ${p.eta_seconds}s`;
  return `${p.finished}/${p.total} items finished (${p.percent}%) · ${p.complete} complete · ${p.failed} failed · ${p.outstanding} outstanding · ${p.rate_per_minute === null ? '—' : p.rate_per_minute}/min · ${eta}`;
}
function progressBar(b) {
  return el(
    'progress',
    { class: 'bf-bar', max: Math.max(b.progress.total, 1), value: b.progress.finished, title: `${b.progress.percent}%` },
    `${b.progress.percent}%`,
  );
}

export function backfillPage() {
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
        el(
          'tr',
          { 'data-part': part },
          el('th', {}, part === 'requested' ? b.pipeline : 'downstream'),
          STATES.map((s) => el('td', { class: 'num', 'data-state': s }, String(b.progress[part][s] || 0))),
        ),
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
