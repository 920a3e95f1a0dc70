// Sluice dashboard time rule, shared by the server-rendered pages (imported by pages.ts) and the
// browser script (imported by dashboard.js), so both always print an instant the same way.
//
// Rule: an instant is printed as `YYYY-MM-DD HH:MM:SS` in one named zone, followed by that
// zone written out: `UTC` for UTC, else the UTC offset in force at that instant (`-05:00`)
// and, when asked, the zone's name. Never a wall-clock time without its offset.

const formatters = new Map();

function formatterFor(timeZone) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The parts of `iso` in `timeZone`: date `YYYY-MM-DD`, time `HH:MM:SS`, offset `+HH:MM`. */
export function instantParts(iso, timeZone) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const parts = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  // longOffset gives `GMT-05:00`, or bare `GMT` at offset zero.
  const offset = (parts.timeZoneName || 'GMT').replace('GMT', '') || '+00:00';
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}`, offset };
}

/**
 * `2026-12-01T15:25:00-05:00` -> `2026-12-01 20:25:00 UTC` (timeZone UTC, the default), or
 * `2026-12-01 15:25:00 -05:00` in America/New_York (with `named`, followed by the zone name).
 */
export function formatInstant(iso, timeZone = 'UTC', named = false) {
  if (!iso) return '';
  const zone = timeZone || 'UTC';
  const p = instantParts(iso, zone);
  if (!p) return String(iso);
  if (zone === 'UTC' || zone === 'Etc/UTC') return `${p.date}\u00a0${p.time}\u00a0UTC`;
  return `${p.date}\u00a0${p.time}\u00a0${p.offset}${named ? `\u00a0${zone}` : ''}`;
}

/** The viewer's own IANA zone (the browser's), or UTC when it cannot tell. */
export function viewerZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
