import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getCalendar, knownCalendars } from '../../src/time/calendars.js';
import { addDays, isWeekend } from '../../src/time/civil-date.js';
import { easterSunday } from '../../src/time/xnys-calendar.js';
import { TimeInputError } from '../../src/time/errors.js';

interface FixtureYear {
  sessions: number;
  closures: Record<string, string>;
  early_closes: string[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/nyse-holidays-2015-2027.json', import.meta.url), 'utf8')) as { years: Record<string, FixtureYear> };

const xnys = getCalendar('XNYS');

/** Walk every day of a year and ask the calendar day by day (not through its own lists). */
function observeYear(year: number) {
  const closedWeekdays: string[] = [];
  const earlyCloses: string[] = [];
  let sessions = 0;
  for (let d = `${year}-01-01`; d.startsWith(String(year)); d = addDays(d, 1)) {
    if (xnys.isSession(d)) {
      sessions++;
      if (xnys.isEarlyClose(d)) earlyCloses.push(d);
    } else if (!isWeekend(d)) {
      closedWeekdays.push(d);
    }
  }
  return { closedWeekdays, earlyCloses, sessions };
}

describe('XNYS against the published NYSE calendars 2015-2027', () => {
  const years = Object.keys(fixture.years);

  it('the fixture covers every year 2015-2027', () => {
    expect(years).toEqual(Array.from({ length: 13 }, (_, i) => String(2015 + i)));
  });

  for (const year of years) {
    const expected = fixture.years[year]!;
    it(`${year}: rule-based closures, early closes and session count match the published list`, () => {
      const seen = observeYear(Number(year));
      expect(seen.closedWeekdays).toEqual(Object.keys(expected.closures).sort());
      expect(seen.earlyCloses).toEqual([...expected.early_closes].sort());
      expect(seen.sessions).toBe(expected.sessions);
      // The list APIs agree with the day-by-day view.
      expect(xnys.closures(`${year}-01-01`, `${year}-12-31`).map((c) => c.date)).toEqual(seen.closedWeekdays);
      expect(xnys.sessions(`${year}-01-01`, `${year}-12-31`)).toHaveLength(expected.sessions);
    });
  }

  it('session counts: 250 in 2023, 252 in 2024, 253 in 2020', () => {
    expect(xnys.sessions('2023-01-01', '2023-12-31')).toHaveLength(250);
    expect(xnys.sessions('2024-01-01', '2024-12-31')).toHaveLength(252);
    expect(xnys.sessions('2020-01-01', '2020-12-31')).toHaveLength(253);
  });
});

describe('XNYS rules, case by case', () => {
  it('computes Easter (and so Good Friday) with the Gregorian algorithm', () => {
    expect(easterSunday(2024)).toBe('2024-03-31');
    expect(easterSunday(2025)).toBe('2025-04-20');
    expect(easterSunday(2026)).toBe('2026-04-05');
    expect(easterSunday(2038)).toBe('2038-04-25'); // latest possible date
    expect(easterSunday(2285)).toBe('2285-03-22'); // earliest possible date
    expect(xnys.closureReason('2026-04-03')).toBe('Good Friday');
  });

  it('does not make up New Year on Friday Dec 31 when Jan 1 is a Saturday', () => {
    expect(xnys.isSession('2021-12-31')).toBe(true);
    expect(xnys.isEarlyClose('2021-12-31')).toBe(false);
    expect(xnys.isSession('2027-12-31')).toBe(true); // 2028-01-01 is a Saturday
    // ...but a Sunday New Year is observed on Monday.
    expect(xnys.isSession('2023-01-02')).toBe(false);
  });

  it('observes Saturday holidays on Friday and Sunday holidays on Monday', () => {
    expect(xnys.isSession('2026-07-03')).toBe(false); // July 4 2026 is a Saturday
    expect(xnys.isSession('2026-07-02')).toBe(true);
    expect(xnys.isEarlyClose('2026-07-02')).toBe(false);
    expect(xnys.isSession('2022-06-20')).toBe(false); // Juneteenth 2022 was a Sunday
    expect(xnys.isSession('2027-06-18')).toBe(false); // Juneteenth 2027 is a Saturday
  });

  it('starts Juneteenth in 2022 and MLK Day in 1998', () => {
    expect(xnys.isSession('2021-06-18')).toBe(true);
    expect(xnys.isSession('2022-06-20')).toBe(false);
    expect(xnys.isSession('1997-01-20')).toBe(true);
    expect(xnys.isSession('1998-01-19')).toBe(false);
  });

  it('early closes: July 3 only Mon-Thu, Black Friday, Christmas Eve Mon-Thu', () => {
    for (const d of ['2019-07-03', '2024-07-03', '2025-07-03', '2020-11-27', '2024-12-24', '2026-11-27']) {
      expect(xnys.isEarlyClose(d), d).toBe(true);
      expect(xnys.closeTime(d)).toBe('13:00');
    }
    expect(xnys.isEarlyClose('2016-07-01')).toBe(false); // July 4 on Monday: no early close Friday
    expect(xnys.isEarlyClose('2022-12-23')).toBe(false); // Dec 24 2022 was a Saturday
    expect(xnys.isSession('2021-12-24')).toBe(false); // Dec 24 on Friday is the Christmas holiday
    expect(xnys.isEarlyClose('2025-12-26')).toBe(false);
    // Pre-2013 a Thursday July 4 moved the early close to Friday July 5.
    expect(xnys.isEarlyClose('2002-07-05')).toBe(true);
    expect(xnys.isEarlyClose('2002-07-03')).toBe(false);
    expect(xnys.isEarlyClose('2013-07-03')).toBe(true);
  });

  it('special closures are not sessions', () => {
    for (const d of [
      '2001-09-11',
      '2001-09-12',
      '2001-09-13',
      '2001-09-14',
      '2004-06-11',
      '2007-01-02',
      '2012-10-29',
      '2012-10-30',
      '2018-12-05',
      '2025-01-09',
    ]) {
      expect(xnys.isSession(d), d).toBe(false);
    }
    expect(xnys.closureReason('2012-10-29')).toBe('Hurricane Sandy');
    expect(xnys.nextSession('2001-09-10')).toBe('2001-09-17');
    expect(xnys.previousSession('2001-09-17')).toBe('2001-09-10');
  });
});

describe('session times', () => {
  it('opens 09:30 and closes 16:00 New York time, through DST', () => {
    expect(xnys.sessionOpen('2026-03-06').toISOString()).toBe('2026-03-06T14:30:00.000Z');
    expect(xnys.sessionOpen('2026-03-09').toISOString()).toBe('2026-03-09T13:30:00.000Z');
    expect(xnys.sessionClose('2026-11-02').toISOString()).toBe('2026-11-02T21:00:00.000Z');
  });

  it('reports the real close on an early close', () => {
    expect(xnys.sessionClose('2026-11-27').toISOString()).toBe('2026-11-27T18:00:00.000Z');
    expect(xnys.sessions('2026-11-25', '2026-11-30').map((s) => [s.date, s.open.toISOString(), s.close.toISOString()])).toEqual([
      ['2026-11-25', '2026-11-25T14:30:00.000Z', '2026-11-25T21:00:00.000Z'],
      ['2026-11-27', '2026-11-27T14:30:00.000Z', '2026-11-27T18:00:00.000Z'],
      ['2026-11-30', '2026-11-30T14:30:00.000Z', '2026-11-30T21:00:00.000Z'],
    ]);
  });

  it('next/previous session are strict and skip holidays and weekends', () => {
    expect(xnys.nextSession('2026-11-25')).toBe('2026-11-27');
    expect(xnys.nextSession('2026-11-27')).toBe('2026-11-30');
    expect(xnys.previousSession('2026-11-27')).toBe('2026-11-25');
    expect(xnys.previousSession('2026-01-05')).toBe('2026-01-02');
    expect(xnys.nextSession('2026-07-02')).toBe('2026-07-06');
  });

  it('refuses open/close of a non-session, naming the date', () => {
    expect(() => xnys.sessionOpen('2026-11-26')).toThrow(/2026-11-26.*must be a XNYS session \(2026-11-26 is closed: Thanksgiving Day\)/);
  });
});

describe('overrides and registry', () => {
  it('an ad-hoc closure from config removes a session; the shared calendar is unaffected', () => {
    const cal = getCalendar('XNYS', { adhoc_closures: ['2027-03-10'] });
    expect(cal.isSession('2027-03-10')).toBe(false);
    expect(cal.nextSession('2027-03-09')).toBe('2027-03-11');
    expect(cal.sessions('2027-03-08', '2027-03-12').map((s) => s.date)).toEqual(['2027-03-08', '2027-03-09', '2027-03-11', '2027-03-12']);
    expect(getCalendar('XNYS').isSession('2027-03-10')).toBe(true);
  });

  it('an early close from config changes the real close', () => {
    const cal = getCalendar('XNYS', { early_closes: [{ date: '2027-03-10', close: '13:00' }] });
    expect(cal.isEarlyClose('2027-03-10')).toBe(true);
    expect(cal.sessionClose('2027-03-10').toISOString()).toBe('2027-03-10T18:00:00.000Z'); // 13:00 EST (DST starts 2027-03-14)
  });

  it('rejects overrides that make no sense, naming the entry', () => {
    expect(() => getCalendar('XNYS', { early_closes: [{ date: '2027-03-13', close: '13:00' }] })).toThrow(
      /early_closes\[0\]\.date "2027-03-13": must be a XNYS session \(2027-03-13 is closed: weekend\)/,
    );
    expect(() => getCalendar('XNYS', { early_closes: [{ date: '2027-03-10', close: '17:00' }] })).toThrow(/early_closes\[0\]\.close/);
    expect(() => getCalendar('XNYS', { adhoc_closures: ['2027-02-30'] })).toThrow(/adhoc_closures\[0\]/);
  });

  it('accepts name variants and lists known calendars for unknown ones', () => {
    expect(getCalendar('xnys')).toBe(getCalendar('XNYS'));
    expect(getCalendar('NYSE').name).toBe('XNYS');
    expect(knownCalendars()).toEqual(['XNYS']);
    let err: unknown;
    try {
      getCalendar('XLON');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TimeInputError);
    expect(err).toMatchObject({ field: 'calendar', value: 'XLON' });
    expect((err as Error).message).toBe('calendar "XLON": must name a known calendar (known: XNYS)');
  });

  it('rejects dates before the modelled range instead of guessing', () => {
    expect(() => xnys.isSession('1990-01-02')).toThrow(/must be 1993-01-01 or later/);
  });
});
