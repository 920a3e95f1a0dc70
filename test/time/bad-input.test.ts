/**
 * Every kind of bad input the time layer accepts from users must come back as a
 * TimeInputError that names the field and carries the value, so the CLI and the API can say
 * exactly what to fix.
 */
import { describe, expect, it } from 'vitest';
import { TimeInputError } from '../../src/time/errors.js';
import { nextFireTimes, validateCron, validateTimezone } from '../../src/time/cron.js';
import { getCalendar } from '../../src/time/calendars.js';
import { nextMarketTimes, parseMarketTime } from '../../src/time/market-time.js';
import { parseDateRange, weekEndingFridays } from '../../src/time/partitions.js';
import { parseDate } from '../../src/time/civil-date.js';

function caught(fn: () => unknown): TimeInputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TimeInputError);
    return e as TimeInputError;
  }
  throw new Error('expected a TimeInputError, nothing was thrown');
}

const from = new Date('2026-01-01T00:00:00Z');

describe('invalid cron', () => {
  it("names the expression and uses croner's reason, plus the valid range", () => {
    const e = caught(() => validateCron('61 * * * *'));
    expect(e).toMatchObject({ field: 'cron', value: '61 * * * *' });
    expect(e.message).toBe('cron "61 * * * *": must be a valid cron expression: Invalid value for minute: 61 (minute must be 0-59)');
  });

  it.each([
    ['* 24 * * *', /hour must be 0-23/],
    ['* * * 13 *', /month must be 1-12/],
    ['* * *', /exactly five, six, or seven/],
    ['*/0 * * * *', /illegal stepping/],
    ['0 0 30 2 *', /must match at least one date/],
  ])('%s', (expr, reason) => {
    const e = caught(() => validateCron(expr));
    expect(e).toMatchObject({ field: 'cron', value: expr });
    expect(e.message).toMatch(reason);
  });

  it('rejects a missing expression and propagates from nextFireTimes', () => {
    expect(caught(() => validateCron('')).field).toBe('cron');
    expect(caught(() => nextFireTimes('0 61 * * *', { from, count: 1 })).value).toBe('0 61 * * *');
  });

  it('rejects a bad count or from', () => {
    expect(caught(() => nextFireTimes('0 1 * * *', { from, count: 0 }))).toMatchObject({ field: 'count', value: 0 });
    expect(caught(() => nextFireTimes('0 1 * * *', { from: new Date('nope'), count: 1 })).field).toBe('from');
  });
});

describe('unknown time zone', () => {
  it('names the zone', () => {
    const e = caught(() => validateTimezone('America/New_Yrok'));
    expect(e).toMatchObject({ field: 'timezone', value: 'America/New_Yrok' });
    expect(e.message).toMatch(/^timezone "America\/New_Yrok": must be a known IANA time zone/);
    expect(caught(() => nextFireTimes('0 1 * * *', { timezone: 'Mars/Olympus', from, count: 1 })).value).toBe('Mars/Olympus');
  });

  it('accepts real zones', () => {
    expect(validateTimezone('Europe/London')).toBe('Europe/London');
    expect(validateTimezone('UTC')).toBe('UTC');
  });
});

describe('unknown calendar name', () => {
  it('names the calendar and lists known ones', () => {
    const e = caught(() => getCalendar('LSE'));
    expect(e).toMatchObject({ field: 'calendar', value: 'LSE' });
    expect(e.message).toMatch(/must name a known calendar \(known: XNYS\)/);
  });
});

describe('unparsable `at`', () => {
  it.each(['closed', 'close+15', 'close+', 'close + 15m', 'noon', 'close+1m30h', 'open-25h', ''])('%j', (at) => {
    const e = caught(() => parseMarketTime(at));
    expect(e).toMatchObject({ field: 'at', value: at });
  });

  it('fails through nextMarketTimes too', () => {
    const e = caught(() => nextMarketTimes('after close', { calendar: getCalendar('XNYS'), from, count: 1 }));
    expect(e.message).toMatch(/^at "after close": must be open or close/);
  });
});

describe('date ranges and dates', () => {
  it('reversed range names the `to` end and both dates', () => {
    const e = caught(() => parseDateRange('2026-02-10', '2026-02-01', 'backfill'));
    expect(e).toMatchObject({ field: 'backfill.to', value: '2026-02-01' });
    expect(e.message).toMatch(/must not be before .*2026-02-10.*reversed/);
    expect(caught(() => weekEndingFridays('2026-02-10', '2026-02-01')).field).toBe('to');
    expect(caught(() => getCalendar('XNYS').sessions('2026-02-10', '2026-02-01')).field).toBe('to');
  });

  it('empty range ends are rejected', () => {
    expect(caught(() => parseDateRange('', '2026-02-01', { from: '--from', to: '--to' }))).toMatchObject({
      field: '--from',
      value: '',
    });
    expect(caught(() => parseDateRange('2026-02-01', undefined, 'range')).field).toBe('range.to');
  });

  it('invalid dates are rejected', () => {
    expect(caught(() => parseDate('2026-02-30'))).toMatchObject({ field: 'date', value: '2026-02-30' });
    expect(caught(() => parseDateRange('2026-02-30', '2026-03-01', 'backfill')).field).toBe('backfill.from');
    expect(caught(() => getCalendar('XNYS').isSession('2026-13-01')).value).toBe('2026-13-01');
    expect(caught(() => getCalendar('XNYS').sessionOpen('2026-11-26')).field).toBe('date');
  });
});
