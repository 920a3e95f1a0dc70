// Shared helpers of the dashboard's page scripts: DOM building, times, API calls, polling.
// Rule: data only ever reaches the page through textContent / attribute setters, never
// innerHTML, so partition values, errors and output are always shown as text.
import { formatInstant, viewerZone } from './time-format.js';

export const STATES = ['WAITING', 'PENDING', 'RUNNING', 'RETRY_WAIT', 'COMPLETE', 'FAILED', 'CANCELLED'];
const ATTEMPT_STATUSES = ['running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'interrupted'];
export const body = document.body;

/** el('td', {class: 'num'}, 'text', childNode) — strings become text nodes. */
export function el(tag, attrs, ...children) {
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
export const byId = (id) => document.getElementById(id);
export const safeState = (s) => (STATES.includes(s) ? s : 'PENDING');
export const safeStatus = (s) => (ATTEMPT_STATUSES.includes(s) ? s : 'lost');
export const safeClass = (s) => String(s).replace(/[^A-Za-z0-9_-]/g, '_');
export const badge = (state) => el('span', { class: `badge s-${safeState(state)}` }, state);
export const attemptBadge = (status) => el('span', { class: `badge a-${safeStatus(status)}` }, status);
export const numCell = (n) => el('td', { class: n ? 'num' : 'num zero' }, String(n || 0));
export const emptyRow = (cols, text) => el('tr', {}, el('td', { class: 'empty', colspan: cols }, text));
/** A table's header row, one plain cell per heading. */
export const tableHead = (headings) =>
  el(
    'thead',
    {},
    el(
      'tr',
      {},
      headings.map((h) => el('th', {}, h)),
    ),
  );
export const link = (href, text, attrs) => el('a', { href, ...(attrs || {}) }, text);

/** `date=2026-01-05|symbol=A%7CB` -> `date=2026-01-05 · symbol=A|B` (values decoded). */
export function partitionLabel(key) {
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
export const fmtText = (iso) => formatInstant(iso, displayZone(), zoneChoice === 'local');
/** An instant as a <time> element (re-zoned when the choice changes). */
export function fmtTime(iso) {
  if (!iso) return '';
  return el('time', { class: 'instant', datetime: iso }, fmtText(iso));
}
/** An instant in a fixed zone (a schedule's own), offset and zone name written. */
export const fmtZoned = (iso, zone) => el('time', { class: 'zoned', datetime: iso, 'data-zone': zone }, formatInstant(iso, zone, true));
export function rezoneAll() {
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
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)}m ${Math.round((ms % 60000) / 1000)}s`;
}
export function fmtRelative(iso) {
  const d = Date.parse(iso) - Date.now();
  const a = Math.abs(d);
  const t =
    a < 60000
      ? `${Math.round(a / 1000)}s`
      : a < 3600000
        ? `${Math.round(a / 60000)}m`
        : a < 172800000
          ? `${Math.round(a / 3600000)}h`
          : `${Math.round(a / 86400000)}d`;
  return d >= 0 ? `in ${t}` : `${t} ago`;
}

export function toLogin() {
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
export const getJson = (url) => request('GET', url);
export const postJson = (url, payload) => request('POST', url, payload);

export function setLive(ok) {
  const live = byId('live');
  if (!live) return;
  live.classList.toggle('stale', !ok);
  live.textContent = ok ? 'live' : 'reconnecting…';
}

/** Runs `tick` now-ish and then every `ms`, pausing while the tab is hidden. */
export function poll(tick, ms) {
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

export function flash(text, isError) {
  const msg = byId('action-msg');
  if (!msg) return;
  msg.textContent = text;
  msg.classList.toggle('error', Boolean(isError));
}

/** Replaces a node's children only when the data behind them changed (keeps <details>
 * open/closed and text selections stable between polls). */
const lastRendered = new WeakMap();
export function renderInto(node, data, build) {
  if (!node) return;
  const key = JSON.stringify(data);
  if (lastRendered.get(node) === key) return;
  lastRendered.set(node, key);
  node.replaceChildren(...[build(data)].flat());
}
