import { describe, expect, it } from 'vitest';
import { getCalendar } from '../../src/time/calendars.js';
import { deadlineFor, parseDeadline, partitionDay } from '../../src/time/deadline.js';
import { formatZonedIso } from '../../src/time/zoned.js';

const XNYS = getCalendar('XNYS');
const due = (spec: string, day: string) => formatZonedIso(deadlineFor(spec, XNYS, day), 'America/New_York');

describe('freshness deadline instants (calendar rules)', () => {
  it('close+2h of a daily session follows early closes', () => {
    expect(due('close+2h', '2026-11-25')).toBe('2026-11-25T18:00:00-05:00');
    expect(due('close+2h', '2026-11-27')).toBe('2026-11-27T15:00:00-05:00'); // 13:00 close
    expect(due('close+2h', '2026-12-24')).toBe('2026-12-24T15:00:00-05:00');
  });

  it('next_open+3h after a FINRA Friday is the Monday after, or Tuesday after a Monday holiday', () => {
    expect(due('next_open+3h', '2026-03-06')).toBe('2026-03-09T12:30:00-04:00'); // DST began 03-08
    expect(due('next_open+3h', '2026-10-30')).toBe('2026-11-02T12:30:00-05:00'); // DST ended 11-01
    expect(due('next_open+3h', '2026-01-16')).toBe('2026-01-20T12:30:00-05:00'); // MLK day 01-19
  });

  it('a fixed local time on the day, or on the next session', () => {
    expect(due('17:30', '2026-11-27')).toBe('2026-11-27T17:30:00-05:00');
    expect(due('next_session@12:00', '2026-12-24')).toBe('2026-12-28T12:00:00-05:00'); // 12-25 holiday
    // In a named zone: 17:00 in London on 2026-03-09 is 13:00 New York (the US is on DST, the UK not yet).
    expect(due('17:00 Europe/London', '2026-03-09')).toBe('2026-03-09T13:00:00-04:00');
    expect(due('17:00 America/New_York', '2026-11-02')).toBe('2026-11-02T17:00:00-05:00');
    expect(() => parseDeadline('17:00 Mars/Olympus')).toThrow(/time zone/);
  });

  it('the partition day is its date or its week_ending', () => {
    expect(partitionDay({ date: '2026-11-27', symbol: 'AAPL' })).toBe('2026-11-27');
    expect(partitionDay({ week_ending: '2026-11-27', tier: 'OTC' })).toBe('2026-11-27');
    expect(partitionDay({ tick: 'x' })).toBeUndefined();
  });

  it('bad specs name the field and the rule', () => {
    expect(() => parseDeadline('close+')).toThrow(/deadline "close\+".*after "\+"/);
    expect(() => parseDeadline('after close')).toThrow(/deadline "after close".*must be open, close, next_open or next_close/);
    expect(() => parseDeadline('close+8d')).toThrow(/at most 7d/);
    expect(() => parseDeadline('25:00')).toThrow(/deadline/);
  });
});
