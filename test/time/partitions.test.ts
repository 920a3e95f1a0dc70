import { describe, expect, it } from 'vitest';
import { getCalendar } from '../../src/time/calendars.js';
import {
  fridayForPublicationMonday,
  lastNWeekEndings,
  parseDateRange,
  publicationMondayFor,
  sessionDates,
  weekEndingFor,
  weekEndingFridays,
} from '../../src/time/partitions.js';

describe('week_ending partitions', () => {
  it('lists every Friday in an inclusive range', () => {
    expect(weekEndingFridays('2025-11-28', '2025-12-19')).toEqual(['2025-11-28', '2025-12-05', '2025-12-12', '2025-12-19']);
    expect(weekEndingFridays('2025-11-29', '2025-12-18')).toEqual(['2025-12-05', '2025-12-12']);
    expect(weekEndingFridays('2025-12-15', '2025-12-18')).toEqual([]); // Mon-Thu: no Friday
  });

  it('maps each day of a Mon-Sun week to its Friday', () => {
    for (const d of ['2025-12-15', '2025-12-17', '2025-12-19', '2025-12-20', '2025-12-21']) {
      expect(weekEndingFor(d), d).toBe('2025-12-19');
    }
    expect(weekEndingFor('2025-12-22')).toBe('2025-12-26');
    expect(weekEndingFor('2025-12-31')).toBe('2026-01-02'); // crosses the year
  });

  it('converts between the FINRA publication Monday and the week_ending Friday', () => {
    expect(fridayForPublicationMonday('2025-12-22')).toBe('2025-12-19');
    expect(fridayForPublicationMonday('2026-01-05')).toBe('2026-01-02');
    expect(publicationMondayFor('2025-12-19')).toBe('2025-12-22');
    expect(() => fridayForPublicationMonday('2025-12-23')).toThrow(/must be a Monday/);
  });

  it('gives the last n complete week endings at or before asOf, oldest first', () => {
    expect(lastNWeekEndings('2025-12-19', 3)).toEqual(['2025-12-05', '2025-12-12', '2025-12-19']);
    expect(lastNWeekEndings('2025-12-22', 2)).toEqual(['2025-12-12', '2025-12-19']);
    expect(lastNWeekEndings('2025-12-18', 1)).toEqual(['2025-12-12']);
    // 02:00Z Saturday is still Friday evening in New York...
    expect(lastNWeekEndings(new Date('2025-12-20T02:00:00Z'), 1)).toEqual(['2025-12-19']);
    // ...and 02:00Z Friday is still Thursday there, so that week is not complete yet.
    expect(lastNWeekEndings(new Date('2025-12-19T02:00:00Z'), 1)).toEqual(['2025-12-12']);
    expect(lastNWeekEndings(new Date('2025-12-19T02:00:00Z'), 1, 'UTC')).toEqual(['2025-12-19']);
  });
});

describe('daily partitions', () => {
  it('are the session dates of the calendar', () => {
    expect(sessionDates(getCalendar('XNYS'), '2025-12-22', '2026-01-02')).toEqual([
      '2025-12-22',
      '2025-12-23',
      '2025-12-24',
      '2025-12-26',
      '2025-12-29',
      '2025-12-30',
      '2025-12-31',
      '2026-01-02',
    ]);
  });
});

describe('parseDateRange', () => {
  it('accepts a one-day range and returns the dates', () => {
    expect(parseDateRange('2026-01-05', '2026-01-05', 'backfill')).toEqual({ from: '2026-01-05', to: '2026-01-05' });
  });
});
