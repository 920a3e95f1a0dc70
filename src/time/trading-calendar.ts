/**
 * A trading calendar: which calendar dates are sessions, and when each session opens and
 * closes as real instants.
 *
 * The class is exchange-agnostic. An exchange supplies `CalendarRules` (its time zone, regular
 * hours, and a function that yields the year's closures and early closes, computed from rules
 * — see xnys-calendar.ts). Users layer `CalendarOverrides` on top, so an ad-hoc closure
 * announced next month (a national day of mourning, a storm) is one line of config rather
 * than a code release.
 *
 * Dates in and out are 'YYYY-MM-DD' strings; open/close are `Date` instants computed through
 * the exchange's time zone, so 09:30 New York is 14:30Z in winter and 13:30Z in summer.
 */
import { TimeInputError } from './errors.js';
import { addDays, dayOfWeek, parseDate, parseDateRange, toEpochDay, yearOf, type DateString } from './civil-date.js';
import { parseTimeOfDay, validateTimezone, zonedDateTimeToInstant } from './zoned.js';

export interface Session {
  date: DateString;
  open: Date;
  close: Date;
}

export interface NamedDate {
  date: DateString;
  name: string;
}

export interface EarlyClose extends NamedDate {
  /** local close time, 'HH:MM' */
  close: string;
}

/** What one year looks like under an exchange's rules. */
export interface YearSchedule {
  /** full-day closures on weekdays (weekend dates are closed anyway and may be omitted) */
  closures: readonly NamedDate[];
  /** sessions that close before the regular close */
  earlyCloses: readonly EarlyClose[];
}

export interface CalendarRules {
  /** registry name, e.g. "XNYS" */
  name: string;
  /** IANA zone the session times are in */
  timezone: string;
  /** regular open/close, local 'HH:MM' */
  open: string;
  close: string;
  /** weekdays (0 = Sunday) that are never sessions */
  weekendDays: readonly number[];
  /** first year the rules describe faithfully; earlier dates are rejected, not guessed */
  firstYear: number;
  /**
   * The year's closures and early closes, from the exchange's rules. Every date returned must
   * lie in `year`: lookups go to the index of the date's own year, so an observance that
   * would cross a year boundary has to be produced by the other year's call.
   */
  yearSchedule(year: number): YearSchedule;
}

/**
 * User additions, in config (snake_case) shape:
 * `{ "adhoc_closures": ["2027-03-01"], "early_closes": [{ "date": "2027-03-02", "close": "13:00" }] }`.
 * An override early close replaces a rule early close on the same date.
 */
export interface CalendarOverrides {
  adhoc_closures?: readonly string[];
  early_closes?: readonly { date: string; close: string }[];
}

/** Seconds since midnight of an 'HH:MM[:SS]' string, for ordering local times. */
function secondsOfDay(time: string, field: string): number {
  const t = parseTimeOfDay(time, field);
  return t.hour * 3600 + t.minute * 60 + t.second;
}

// Longest plausible run of consecutive non-sessions (9/11 closure + weekend = 6 days).
// nextSession/previousSession give up after this so a bad override cannot hang a scheduler.
const MAX_SESSION_GAP_DAYS = 366;

interface YearIndex {
  closures: Map<DateString, string>;
  earlyCloses: Map<DateString, EarlyClose>;
}

export class TradingCalendar {
  readonly name: string;
  readonly timezone: string;
  readonly regularOpen: string;
  readonly regularClose: string;

  private readonly rules: CalendarRules;
  private readonly extraClosures = new Map<DateString, string>();
  private readonly extraEarlyCloses = new Map<DateString, EarlyClose>();
  // Rules are evaluated once per year and memoised; calendars are immutable after construction.
  private readonly years = new Map<number, YearIndex>();

  constructor(rules: CalendarRules, overrides: CalendarOverrides = {}) {
    this.rules = rules;
    this.name = rules.name;
    this.timezone = validateTimezone(rules.timezone);
    this.regularOpen = rules.open;
    this.regularClose = rules.close;
    this.applyOverrides(overrides);
  }

  private applyOverrides(overrides: CalendarOverrides): void {
    const closures = overrides.adhoc_closures ?? [];
    if (!Array.isArray(closures)) {
      throw new TimeInputError('adhoc_closures', closures, 'must be an array of YYYY-MM-DD dates');
    }
    closures.forEach((raw, i) => {
      const date = parseDate(raw, `adhoc_closures[${i}]`);
      this.checkInRange(date, `adhoc_closures[${i}]`);
      this.extraClosures.set(date, 'ad-hoc closure (config)');
    });

    const early = overrides.early_closes ?? [];
    if (!Array.isArray(early)) {
      throw new TimeInputError('early_closes', early, 'must be an array of {date, close}');
    }
    early.forEach((entry, i) => {
      const field = `early_closes[${i}]`;
      if (typeof entry !== 'object' || entry === null) {
        throw new TimeInputError(field, entry, 'must be an object {date: "YYYY-MM-DD", close: "HH:MM"}');
      }
      const date = parseDate(entry.date, `${field}.date`);
      this.checkInRange(date, `${field}.date`);
      const close = secondsOfDay(entry.close, `${field}.close`);
      if (close <= secondsOfDay(this.regularOpen, 'open') || close >= secondsOfDay(this.regularClose, 'close')) {
        throw new TimeInputError(
          `${field}.close`,
          entry.close,
          `be after the open (${this.regularOpen}) and before the regular close (${this.regularClose}) for an early close`,
        );
      }
      if (this.extraClosures.has(date)) {
        throw new TimeInputError(`${field}.date`, date, 'not also be listed in adhoc_closures');
      }
      // An early close only makes sense on a day that trades; catch typos (a weekend, a holiday).
      if (!this.isSession(date)) {
        throw new TimeInputError(`${field}.date`, date, `be a ${this.name} session (${date} is closed: ${this.closureReason(date)})`);
      }
      this.extraEarlyCloses.set(date, { date, close: entry.close, name: 'early close (config)' });
    });
  }

  private checkInRange(date: DateString, field: string): void {
    if (yearOf(date) < this.rules.firstYear) {
      throw new TimeInputError(field, date, `be ${this.rules.firstYear}-01-01 or later: the ${this.name} calendar does not model earlier closures`);
    }
  }

  private yearIndex(year: number): YearIndex {
    let idx = this.years.get(year);
    if (!idx) {
      const schedule = this.rules.yearSchedule(year);
      idx = {
        closures: new Map(schedule.closures.map((c) => [c.date, c.name])),
        earlyCloses: new Map(schedule.earlyCloses.map((e) => [e.date, e])),
      };
      this.years.set(year, idx);
    }
    return idx;
  }

  /** Validate a date argument, including the calendar's supported range. */
  private check(date: unknown, field = 'date'): DateString {
    const d = parseDate(date, field);
    this.checkInRange(d, field);
    return d;
  }

  /** Why `date` is not a session, or undefined if it is one. */
  closureReason(date: DateString): string | undefined {
    const d = this.check(date);
    if (this.rules.weekendDays.includes(dayOfWeek(d))) return 'weekend';
    return this.extraClosures.get(d) ?? this.yearIndex(yearOf(d)).closures.get(d);
  }

  isSession(date: DateString): boolean {
    return this.closureReason(date) === undefined;
  }

  /** True when `date` is a session that closes before the regular close. */
  isEarlyClose(date: DateString): boolean {
    return this.earlyCloseOf(this.check(date)) !== undefined;
  }

  private earlyCloseOf(date: DateString): EarlyClose | undefined {
    if (!this.isSession(date)) return undefined;
    return this.extraEarlyCloses.get(date) ?? this.yearIndex(yearOf(date)).earlyCloses.get(date);
  }

  private requireSession(date: unknown): DateString {
    const d = this.check(date);
    if (!this.isSession(d)) {
      throw new TimeInputError('date', d, `be a ${this.name} session (${d} is closed: ${this.closureReason(d)})`);
    }
    return d;
  }

  /** The local open time of a session, 'HH:MM'. */
  openTime(date: DateString): string {
    this.requireSession(date);
    return this.regularOpen;
  }

  /** The local close time of a session, 'HH:MM', early closes included. */
  closeTime(date: DateString): string {
    const d = this.requireSession(date);
    return this.earlyCloseOf(d)?.close ?? this.regularClose;
  }

  sessionOpen(date: DateString): Date {
    return zonedDateTimeToInstant(date, this.openTime(date), this.timezone);
  }

  /** The real close of a session: 13:00 ET on an early close, 16:00 ET otherwise. */
  sessionClose(date: DateString): Date {
    return zonedDateTimeToInstant(date, this.closeTime(date), this.timezone);
  }

  session(date: DateString): Session | undefined {
    const d = this.check(date);
    if (!this.isSession(d)) return undefined;
    return { date: d, open: this.sessionOpen(d), close: this.sessionClose(d) };
  }

  /** Every session from `from` to `to`, both inclusive, in date order. */
  sessions(from: DateString, to: DateString): Session[] {
    const { first, last } = this.range(from, to);
    const out: Session[] = [];
    for (let d = first; toEpochDay(d) <= toEpochDay(last); d = addDays(d, 1)) {
      const s = this.session(d);
      if (s) out.push(s);
    }
    return out;
  }

  /** Session dates only, from `from` to `to` inclusive. */
  sessionDates(from: DateString, to: DateString): DateString[] {
    const { first, last } = this.range(from, to);
    const out: DateString[] = [];
    for (let d = first; toEpochDay(d) <= toEpochDay(last); d = addDays(d, 1)) {
      if (this.isSession(d)) out.push(d);
    }
    return out;
  }

  /** Weekday closures (holidays, special and ad-hoc closures) in a range, with their names. */
  closures(from: DateString, to: DateString): NamedDate[] {
    const { first, last } = this.range(from, to);
    const out: NamedDate[] = [];
    for (let d = first; toEpochDay(d) <= toEpochDay(last); d = addDays(d, 1)) {
      const reason = this.closureReason(d);
      if (reason !== undefined && reason !== 'weekend') out.push({ date: d, name: reason });
    }
    return out;
  }

  /** Early-close sessions in a range, with their local close time. */
  earlyCloses(from: DateString, to: DateString): EarlyClose[] {
    const { first, last } = this.range(from, to);
    const out: EarlyClose[] = [];
    for (let d = first; toEpochDay(d) <= toEpochDay(last); d = addDays(d, 1)) {
      const e = this.earlyCloseOf(d);
      if (e) out.push(e);
    }
    return out;
  }

  /** The first session strictly after `date` (which need not be a session itself). */
  nextSession(date: DateString): DateString {
    return this.step(this.check(date), 1);
  }

  /** The last session strictly before `date`. */
  previousSession(date: DateString): DateString {
    return this.step(this.check(date), -1);
  }

  private step(date: DateString, dir: 1 | -1): DateString {
    let d = date;
    for (let i = 0; i < MAX_SESSION_GAP_DAYS; i++) {
      d = addDays(d, dir);
      if (yearOf(d) < this.rules.firstYear) break;
      if (this.isSession(d)) return d;
    }
    throw new TimeInputError('date', date, `have a ${this.name} session ${dir > 0 ? 'after' : 'before'} it within ${MAX_SESSION_GAP_DAYS} days`);
  }

  private range(from: unknown, to: unknown): { first: DateString; last: DateString } {
    const r = parseDateRange(from, to);
    this.checkInRange(r.from, 'from');
    return { first: r.from, last: r.to };
  }
}
