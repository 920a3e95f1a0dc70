/**
 * The New York Stock Exchange (ISO 10383 MIC "XNYS") calendar, computed from RULES.
 *
 * Why rules and not a list of dates: a list silently stops being right the first January
 * nobody updates it, while the rules below (NYSE Rule 7.2 and long-standing practice) keep
 * producing correct years. Only genuinely unpredictable events — days of mourning, storms,
 * 9/11 — are a table, and users can extend that table from config (`adhoc_closures`,
 * `early_closes`) without a release. test/time/fixtures/nyse-holidays-2015-2027.json holds the
 * published NYSE lists and the tests assert these rules reproduce them exactly.
 *
 * Regular session 09:30-16:00 America/New_York; early closes at 13:00.
 *
 * Modelled from 1993 (the year the 13:00 early close became standard); earlier dates are
 * rejected rather than answered from rules that did not apply then.
 */
import {
  FRIDAY,
  MONDAY,
  SATURDAY,
  SUNDAY,
  THURSDAY,
  TUESDAY,
  addDays,
  dayOfWeek,
  formatDate,
  lastWeekdayOfMonth,
  nthWeekdayOfMonth,
  yearOf,
  type DateString,
} from './civil-date.js';
import { TradingCalendar, type CalendarOverrides, type CalendarRules, type EarlyClose, type NamedDate, type YearSchedule } from './trading-calendar.js';

export const XNYS_EARLY_CLOSE = '13:00';

/**
 * Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). Good Friday, an
 * NYSE holiday though not a federal one, is two days before it.
 */
export function easterSunday(year: number): DateString {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return formatDate(year, month, day);
}

/**
 * NYSE Rule 7.2 weekend observance: a holiday on Saturday closes the preceding Friday, one on
 * Sunday closes the following Monday.
 */
function observed(date: DateString): DateString {
  const dow = dayOfWeek(date);
  if (dow === SATURDAY) return addDays(date, -1);
  if (dow === SUNDAY) return addDays(date, 1);
  return date;
}

/**
 * New Year's Day is the exception to the Saturday rule: Rule 7.2 lets the exchange stay open
 * when the Friday is the end of an accounting period, and Dec 31 always is. So Jan 1 on a
 * Saturday (2005, 2011, 2022) has NO make-up closure — Dec 31 of the prior year trades
 * normally. (That Friday would also fall in the previous year, which this also avoids.)
 */
function newYearsDay(year: number): DateString | undefined {
  const jan1 = formatDate(year, 1, 1);
  const dow = dayOfWeek(jan1);
  if (dow === SATURDAY) return undefined;
  if (dow === SUNDAY) return addDays(jan1, 1);
  return jan1;
}

/**
 * Unscheduled full-day closures. Not derivable from rules; extend from config for future ones.
 * (Sep 15-16 2001 were a weekend.)
 */
export const XNYS_SPECIAL_CLOSURES: readonly NamedDate[] = [
  { date: '1994-04-27', name: 'National Day of Mourning (Richard Nixon)' },
  { date: '2001-09-11', name: 'September 11 attacks' },
  { date: '2001-09-12', name: 'September 11 attacks' },
  { date: '2001-09-13', name: 'September 11 attacks' },
  { date: '2001-09-14', name: 'September 11 attacks' },
  { date: '2004-06-11', name: 'National Day of Mourning (Ronald Reagan)' },
  { date: '2007-01-02', name: 'National Day of Mourning (Gerald Ford)' },
  { date: '2012-10-29', name: 'Hurricane Sandy' },
  { date: '2012-10-30', name: 'Hurricane Sandy' },
  { date: '2018-12-05', name: 'National Day of Mourning (George H. W. Bush)' },
  { date: '2025-01-09', name: 'National Day of Mourning (Jimmy Carter)' },
];

/** Early closes announced one-off rather than by the regular rules below. */
export const XNYS_SPECIAL_EARLY_CLOSES: readonly EarlyClose[] = [
  { date: '1997-12-26', close: XNYS_EARLY_CLOSE, name: 'Day after Christmas' },
  { date: '1999-12-31', close: XNYS_EARLY_CLOSE, name: "New Year's Eve 1999" },
  { date: '2003-12-26', close: XNYS_EARLY_CLOSE, name: 'Day after Christmas' },
];

/** Full-day holidays of `year` by rule, each on its observed date. */
function regularHolidays(year: number): NamedDate[] {
  const out: NamedDate[] = [];
  const add = (date: DateString | undefined, name: string) => {
    if (date !== undefined) out.push({ date, name });
  };
  add(newYearsDay(year), "New Year's Day");
  // MLK Day became a federal holiday in 1986 but the NYSE only closed for it from 1998.
  if (year >= 1998) add(nthWeekdayOfMonth(year, 1, MONDAY, 3), 'Martin Luther King Jr. Day');
  add(nthWeekdayOfMonth(year, 2, MONDAY, 3), "Washington's Birthday");
  add(addDays(easterSunday(year), -2), 'Good Friday');
  add(lastWeekdayOfMonth(year, 5, MONDAY), 'Memorial Day');
  // Juneteenth became federal in June 2021, too late for that year; the NYSE closes from 2022.
  if (year >= 2022) add(observed(formatDate(year, 6, 19)), 'Juneteenth National Independence Day');
  add(observed(formatDate(year, 7, 4)), 'Independence Day');
  add(nthWeekdayOfMonth(year, 9, MONDAY, 1), 'Labor Day');
  add(nthWeekdayOfMonth(year, 11, THURSDAY, 4), 'Thanksgiving Day');
  add(observed(formatDate(year, 12, 25)), 'Christmas Day');
  return out;
}

/** 13:00 early closes of `year` by rule. */
function regularEarlyCloses(year: number): EarlyClose[] {
  const out: EarlyClose[] = [];
  const add = (date: DateString, name: string) => out.push({ date, close: XNYS_EARLY_CLOSE, name });

  // Independence Day eve. When July 4 is Tue-Fri, July 3 (Mon-Thu) closes early. When July 4
  // is a Saturday, July 3 is the observed holiday and Thursday July 2 is a full day (2015,
  // 2020, 2026); when it is Sunday or Monday there is no early close (July 1/2 are full days).
  // Before 2013 a Thursday July 4 put the early close on Friday July 5 instead of Wednesday
  // July 3 (1996, 2002); the Wednesday rule began with 2013. Both forms start in 1995.
  const july3 = formatDate(year, 7, 3);
  const july3Dow = dayOfWeek(july3);
  if (year >= 2013) {
    if (july3Dow >= MONDAY && july3Dow <= THURSDAY) add(july3, 'Day before Independence Day');
  } else if (year >= 1995) {
    if (july3Dow === MONDAY || july3Dow === TUESDAY || july3Dow === THURSDAY) {
      add(july3, 'Day before Independence Day');
    }
    const july5 = formatDate(year, 7, 5);
    if (dayOfWeek(july5) === FRIDAY) add(july5, 'Day after Independence Day');
  }

  // The day after Thanksgiving ("Black Friday") always closes early.
  add(addDays(nthWeekdayOfMonth(year, 11, THURSDAY, 4), 1), 'Day after Thanksgiving');

  // Christmas Eve closes early on Mon-Thu. On a Friday it IS the observed Christmas holiday
  // (Dec 25 is a Saturday: 2021, 2027); on a weekend there is nothing to close (2022 had Dec
  // 24 on a Saturday, Christmas observed Monday Dec 26, and Friday Dec 23 was a full day).
  const dec24 = formatDate(year, 12, 24);
  const dec24Dow = dayOfWeek(dec24);
  if (dec24Dow >= MONDAY && dec24Dow <= THURSDAY) add(dec24, 'Christmas Eve');
  return out;
}

function xnysYearSchedule(year: number): YearSchedule {
  const closures = [...regularHolidays(year), ...XNYS_SPECIAL_CLOSURES.filter((c) => yearOf(c.date) === year)];
  const closed = new Set(closures.map((c) => c.date));
  const earlyCloses = [...regularEarlyCloses(year), ...XNYS_SPECIAL_EARLY_CLOSES.filter((e) => yearOf(e.date) === year)].filter((e) => !closed.has(e.date));
  return { closures, earlyCloses };
}

export const XNYS_RULES: CalendarRules = {
  name: 'XNYS',
  timezone: 'America/New_York',
  open: '09:30',
  close: '16:00',
  weekendDays: [SATURDAY, SUNDAY],
  firstYear: 1993,
  yearSchedule: xnysYearSchedule,
};

export function createXnysCalendar(overrides?: CalendarOverrides): TradingCalendar {
  return new TradingCalendar(XNYS_RULES, overrides);
}
