import { describe, expect, it } from 'vitest';
import { getCalendar } from '../../src/time/calendars.js';
import { formatMarketTime, nextMarketTimes, parseMarketTime } from '../../src/time/market-time.js';

const xnys = getCalendar('XNYS');
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('parseMarketTime', () => {
  it('parses anchors and signed hour/minute offsets', () => {
    expect(parseMarketTime('open')).toEqual({ anchor: 'open', offsetMinutes: 0 });
    expect(parseMarketTime('close')).toEqual({ anchor: 'close', offsetMinutes: 0 });
    expect(parseMarketTime('open-5m')).toEqual({ anchor: 'open', offsetMinutes: -5 });
    expect(parseMarketTime('close+15m')).toEqual({ anchor: 'close', offsetMinutes: 15 });
    expect(parseMarketTime('close+1h30m')).toEqual({ anchor: 'close', offsetMinutes: 90 });
    expect(parseMarketTime('close+2h')).toEqual({ anchor: 'close', offsetMinutes: 120 });
  });

  it('formats back to the canonical form', () => {
    expect(formatMarketTime(parseMarketTime('close+90m'))).toBe('close+1h30m');
    expect(formatMarketTime(parseMarketTime('open-5m'))).toBe('open-5m');
  });
});

describe('nextMarketTimes', () => {
  it('close+15m over Thanksgiving week 2026: 16:15 ET normally, 13:15 ET on the early close, none on the holiday', () => {
    const times = nextMarketTimes('close+15m', { calendar: xnys, from: new Date('2026-11-23T00:00:00Z'), count: 5 });
    expect(iso(times)).toEqual([
      '2026-11-23T21:15:00.000Z',
      '2026-11-24T21:15:00.000Z',
      '2026-11-25T21:15:00.000Z',
      '2026-11-27T18:15:00.000Z', // Fri early close 13:00 ET + 15m
      '2026-11-30T21:15:00.000Z',
    ]);
  });

  it('open-5m is strictly after `from` and follows DST', () => {
    // from = 09:25 EST on Fri 2026-03-06 exactly: that one is not "after", so the next is Monday.
    const times = nextMarketTimes('open-5m', { calendar: xnys, from: new Date('2026-03-06T14:25:00Z'), count: 2 });
    expect(iso(times)).toEqual(['2026-03-09T13:25:00.000Z', '2026-03-10T13:25:00.000Z']);
  });

  it('includes a time later on the same day as `from`', () => {
    const times = nextMarketTimes('close', { calendar: xnys, from: new Date('2026-11-27T15:00:00Z'), count: 1 });
    expect(iso(times)).toEqual(['2026-11-27T18:00:00.000Z']);
  });

  it('honours config ad-hoc closures', () => {
    const cal = getCalendar('XNYS', { adhoc_closures: ['2026-11-24'] });
    const times = nextMarketTimes('open', { calendar: cal, from: new Date('2026-11-23T00:00:00Z'), count: 2 });
    expect(iso(times)).toEqual(['2026-11-23T14:30:00.000Z', '2026-11-25T14:30:00.000Z']);
  });
});
