/**
 * Wall-clock time <-> instant conversion for IANA time zones, using only Intl.
 *
 * Why hand-written: Node 20 has no Temporal, and the project rule is "no extra dependency for
 * what a few lines of Intl do". Intl can only go one way (instant -> wall clock), so the
 * reverse (wall clock -> instant) is solved here by trying the zone's offsets around the
 * wanted time and checking which one reproduces it. That check is what makes DST explicit:
 *
 * - A wall time that exists once has exactly one matching instant.
 * - A wall time in a fall-back overlap (01:30 on 2026-11-01 in New York) has two; we return the
 *   FIRST (01:30 EDT = 05:30Z). This is the project's DST policy ("fires once, at its first
 *   occurrence") and is applied everywhere a wall time becomes an instant.
 * - A wall time in a spring-forward gap (02:30 on 2026-03-08 in New York) has none; we return
 *   the FIRST INSTANT AFTER THE GAP, i.e. the transition itself (03:00 EDT = 07:00Z), again per
 *   the project's policy. Every wall time in the gap maps to that same instant.
 *
 * "Naive wall-clock ms" below means the wall-clock fields encoded as if they were UTC
 * (Date.UTC(y, m, d, hh, mm, ss)). It lets us compare and step wall times with plain numbers.
 */
import { TimeInputError } from './errors.js';
import { formatDate, parseDate, type DateString } from './civil-date.js';

const MS_PER_DAY = 86_400_000;

export interface ZonedParts {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** 0 = Sunday ... 6 = Saturday, of the local date */
  weekday: number;
  /** local calendar date, 'YYYY-MM-DD' */
  date: DateString;
  /** local time, 'HH:MM:SS' */
  time: string;
  /** UTC offset in effect at that instant, in minutes (New York winter: -300) */
  offsetMinutes: number;
}

export interface TimeOfDay {
  hour: number;
  minute: number;
  second: number;
}

// Building an Intl.DateTimeFormat is the expensive part; cron enumeration calls us thousands
// of times, so keep one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      // h23, not hour12:false: the latter renders midnight as "24" in some ICU versions.
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/**
 * Check that `tz` is an IANA time zone this runtime knows (Intl is the authority, so what we
 * accept is exactly what we can convert). Returns it unchanged.
 */
export function validateTimezone(tz: unknown, field = 'timezone'): string {
  if (typeof tz !== 'string' || tz.trim() === '') {
    throw new TimeInputError(field, tz, 'a time zone name is required, e.g. "America/New_York"');
  }
  try {
    formatter(tz);
  } catch {
    throw new TimeInputError(field, tz, 'be a known IANA time zone such as "America/New_York", "Europe/London" or "UTC"');
  }
  return tz;
}

/** UTC offset (ms) of `tz` at a whole-second instant, read from Intl (the slow, exact way). */
function intlOffsetMs(wholeSecond: number, tz: string): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatter(tz).formatToParts(new Date(wholeSecond))) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
      default:
        break;
    }
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime() - wholeSecond;
}

/**
 * Offsets are cached because every cron step converts in both directions (a scheduler with
 * 10,000 schedules spent a tenth of its CPU in `formatToParts`):
 * - A fixed-offset zone (UTC, Etc/GMT+5, "+05:30") has one offset: read it once.
 * - Any other zone: per 15-minute stretch of UTC, if the offset at its first and last second
 *   agree, it holds for the whole stretch, because no zone changes its offset twice within 15
 *   minutes. A stretch whose ends disagree holds a transition and is answered exactly, per
 *   second, from Intl.
 */
const STRETCH_MS = 15 * 60_000;
const STRETCHES_MAX = 100_000;
const fixedOffsets = new Map<string, number | null>();
const stretchOffsets = new Map<string, Map<number, number | null>>();

function fixedOffset(tz: string): number | null {
  let fixed = fixedOffsets.get(tz);
  if (fixed === undefined) {
    const canonical = formatter(tz).resolvedOptions().timeZone;
    fixed = /^(Etc\/)?(UTC|GMT|UCT|Universal|Zulu)$|^Etc\/GMT[+-]\d{1,2}$|^[+-]\d{2}(:?\d{2})?$/.test(canonical) ? intlOffsetMs(0, tz) : null;
    fixedOffsets.set(tz, fixed);
  }
  return fixed;
}

/** UTC offset (ms) of `tz` at instant `epochMs`: local wall clock minus UTC. */
function offsetMsAt(epochMs: number, tz: string): number {
  const fixed = fixedOffset(tz);
  if (fixed !== null) return fixed;
  const whole = Math.floor(epochMs / 1000) * 1000;
  let stretches = stretchOffsets.get(tz);
  if (!stretches) stretchOffsets.set(tz, (stretches = new Map()));
  const key = Math.floor(whole / STRETCH_MS);
  let offset = stretches.get(key);
  if (offset === undefined) {
    const first = intlOffsetMs(key * STRETCH_MS, tz);
    offset = intlOffsetMs(key * STRETCH_MS + STRETCH_MS - 1000, tz) === first ? first : null;
    if (stretches.size >= STRETCHES_MAX) stretches.clear();
    stretches.set(key, offset);
  }
  return offset ?? intlOffsetMs(whole, tz);
}

/** Wall-clock fields of `epochMs` in `tz`, encoded as naive ms (see file comment). */
function naiveWallMs(epochMs: number, tz: string): number {
  return epochMs + offsetMsAt(epochMs, tz);
}

/** The local wall-clock time of an instant, as naive ms. Exposed for the cron layer. */
export function instantToWallClockMs(instant: Date, tz: string): number {
  return naiveWallMs(instant.getTime(), tz);
}

/**
 * The instant a local wall-clock time (naive ms) denotes in `tz`, applying the DST policy:
 * ambiguous -> first occurrence, nonexistent -> first instant after the gap.
 */
export function wallClockMsToInstant(wallMs: number, tz: string): Date {
  const wall = Math.floor(wallMs / 1000) * 1000;
  const extraMs = wallMs - wall;
  // Offsets a day either side cover any single transition near this wall time (zones change
  // offset at most once within a day in practice).
  const before = offsetMsAt(wall - MS_PER_DAY, tz);
  const after = offsetMsAt(wall + MS_PER_DAY, tz);
  const candidates = [...new Set([wall - before, wall - after])].filter((t) => naiveWallMs(t, tz) === wall).sort((a, b) => a - b);
  const first = candidates[0];
  if (first !== undefined) return new Date(first + extraMs);

  // No instant shows this wall time: it is inside a gap. The transition T lies between
  // `wall - after` (still on the old offset) and `wall - before` (already on the new one);
  // binary-search the first second on the new offset. That instant is the end of the gap.
  let lo = Math.min(wall - after, wall - before);
  let hi = Math.max(wall - after, wall - before);
  const newOffset = offsetMsAt(hi, tz);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid <= lo) break;
    if (offsetMsAt(mid, tz) === newOffset) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** Local calendar/clock fields of an instant in `tz`, plus the offset in effect. */
export function instantToZonedParts(instant: Date, tz: string): ZonedParts {
  validateTimezone(tz);
  const ms = instant.getTime();
  if (Number.isNaN(ms)) throw new TimeInputError('instant', instant, 'must be a valid Date');
  const wall = new Date(naiveWallMs(ms, tz));
  const year = wall.getUTCFullYear();
  const month = wall.getUTCMonth() + 1;
  const day = wall.getUTCDate();
  const hour = wall.getUTCHours();
  const minute = wall.getUTCMinutes();
  const second = wall.getUTCSeconds();
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    year,
    month,
    day,
    hour,
    minute,
    second,
    millisecond: wall.getUTCMilliseconds(),
    weekday: wall.getUTCDay(),
    date: formatDate(year, month, day),
    time: `${pad(hour)}:${pad(minute)}:${pad(second)}`,
    offsetMinutes: Math.round(offsetMsAt(ms, tz) / 60_000),
  };
}

/** The local calendar date of an instant in `tz` (which trading day, which week...). */
export function zonedDate(instant: Date, tz: string): DateString {
  return instantToZonedParts(instant, tz).date;
}

/**
 * ISO-8601 with the zone's UTC offset, e.g. "2026-03-08T03:00:00-04:00". This is the form
 * the CLI contract (`schedule next --json`) prints: unambiguous, yet readable as local time.
 */
export function formatZonedIso(instant: Date, tz: string): string {
  const p = instantToZonedParts(instant, tz);
  const sign = p.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(p.offsetMinutes);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const ms = p.millisecond ? `.${String(p.millisecond).padStart(3, '0')}` : '';
  return `${p.date}T${p.time}${ms}${off}`;
}

const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Parse 'HH:MM' or 'HH:MM:SS' (24-hour clock). */
export function parseTimeOfDay(value: unknown, field = 'time'): TimeOfDay {
  const m = typeof value === 'string' ? TIME_RE.exec(value) : null;
  if (!m) throw new TimeInputError(field, value, 'time must be formatted HH:MM or HH:MM:SS (24-hour)');
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = m[3] === undefined ? 0 : Number(m[3]);
  if (hour > 23 || minute > 59 || second > 59) {
    throw new TimeInputError(field, value, 'time must be between 00:00 and 23:59:59');
  }
  return { hour, minute, second };
}

/**
 * The instant at which the local wall clock in `tz` shows `time` on `date`.
 * Across DST: a nonexistent time gives the first instant after the gap, an ambiguous time
 * gives its first occurrence (see the file comment).
 */
export function zonedDateTimeToInstant(date: DateString, time: string, tz: string): Date {
  const d = parseDate(date, 'date');
  const t = parseTimeOfDay(time, 'time');
  validateTimezone(tz);
  const naive = new Date(0);
  naive.setUTCFullYear(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10)));
  naive.setUTCHours(t.hour, t.minute, t.second, 0);
  return wallClockMsToInstant(naive.getTime(), tz);
}
