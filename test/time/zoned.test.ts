import { describe, expect, it } from 'vitest';
import { formatZonedIso, instantToZonedParts, zonedDate, zonedDateTimeToInstant } from '../../src/time/zoned.js';
import { addDays, dayOfWeek, parseDate } from '../../src/time/civil-date.js';
import { TimeInputError } from '../../src/time/errors.js';

const NY = 'America/New_York';

describe('zonedDateTimeToInstant', () => {
  it('uses the standard-time offset in winter and daylight time in summer', () => {
    expect(zonedDateTimeToInstant('2026-01-15', '09:30', NY).toISOString()).toBe('2026-01-15T14:30:00.000Z');
    expect(zonedDateTimeToInstant('2026-07-15', '09:30', NY).toISOString()).toBe('2026-07-15T13:30:00.000Z');
  });

  it('maps a wall time inside the spring-forward gap to the first instant after the gap', () => {
    // 02:00-02:59 do not exist on 2026-03-08 in New York; clocks jump 01:59:59 EST -> 03:00 EDT.
    for (const t of ['02:00', '02:30', '02:59']) {
      expect(zonedDateTimeToInstant('2026-03-08', t, NY).toISOString()).toBe('2026-03-08T07:00:00.000Z');
    }
    // The edges of the gap are ordinary times.
    expect(zonedDateTimeToInstant('2026-03-08', '01:59', NY).toISOString()).toBe('2026-03-08T06:59:00.000Z');
    expect(zonedDateTimeToInstant('2026-03-08', '03:00', NY).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('maps a wall time that happens twice (fall back) to its first occurrence', () => {
    expect(zonedDateTimeToInstant('2026-11-01', '01:30', NY).toISOString()).toBe('2026-11-01T05:30:00.000Z');
    expect(zonedDateTimeToInstant('2026-11-01', '01:00', NY).toISOString()).toBe('2026-11-01T05:00:00.000Z');
    expect(zonedDateTimeToInstant('2026-11-01', '02:00', NY).toISOString()).toBe('2026-11-01T07:00:00.000Z');
  });

  it('handles a southern-hemisphere zone and a half-hour zone', () => {
    // Sydney: DST ends 2026-04-05 03:00 AEDT -> 02:00 AEST, so 02:30 happens twice.
    expect(zonedDateTimeToInstant('2026-04-05', '02:30', 'Australia/Sydney').toISOString()).toBe('2026-04-04T15:30:00.000Z');
    expect(zonedDateTimeToInstant('2026-06-01', '12:00', 'Asia/Kolkata').toISOString()).toBe('2026-06-01T06:30:00.000Z');
  });

  it('round-trips every half hour of the DST-change days through instantToZonedParts', () => {
    for (const date of ['2026-03-08', '2026-11-01']) {
      for (let h = 0; h < 24; h++) {
        for (const m of ['00', '30']) {
          const time = `${String(h).padStart(2, '0')}:${m}`;
          const inGap = date === '2026-03-08' && h === 2;
          const parts = instantToZonedParts(zonedDateTimeToInstant(date, time, NY), NY);
          expect(parts.date).toBe(date);
          expect(parts.time).toBe(inGap ? '03:00:00' : `${time}:00`);
        }
      }
    }
  });
});

describe('instantToZonedParts / formatZonedIso', () => {
  it('reports local fields and the offset in effect', () => {
    const p = instantToZonedParts(new Date('2026-11-01T06:30:00Z'), NY); // second 01:30, EST
    expect(p).toMatchObject({ date: '2026-11-01', time: '01:30:00', offsetMinutes: -300, weekday: 0 });
    const q = instantToZonedParts(new Date('2026-11-01T05:30:00Z'), NY); // first 01:30, EDT
    expect(q).toMatchObject({ date: '2026-11-01', time: '01:30:00', offsetMinutes: -240 });
  });

  it('formats ISO-8601 with the local UTC offset', () => {
    expect(formatZonedIso(new Date('2026-03-08T07:00:00Z'), NY)).toBe('2026-03-08T03:00:00-04:00');
    expect(formatZonedIso(new Date('2026-06-01T06:30:00Z'), 'Asia/Kolkata')).toBe('2026-06-01T12:00:00+05:30');
  });

  it('gives the local calendar date, which can differ from the UTC date', () => {
    expect(zonedDate(new Date('2026-11-28T02:00:00Z'), NY)).toBe('2026-11-27');
  });
});

describe('civil dates', () => {
  it('knows weekdays and month lengths', () => {
    expect(dayOfWeek('2026-11-27')).toBe(5);
    expect(dayOfWeek('1970-01-01')).toBe(4);
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(parseDate('2024-02-29')).toBe('2024-02-29');
  });

  it('rejects dates that do not exist, naming the field', () => {
    expect(() => parseDate('2026-02-30', 'backfill.from')).toThrow(TimeInputError);
    try {
      parseDate('2026-02-30', 'backfill.from');
    } catch (e) {
      expect(e).toMatchObject({ field: 'backfill.from', value: '2026-02-30' });
    }
    expect(() => parseDate('2026-2-3')).toThrow(/YYYY-MM-DD/);
    expect(() => zonedDateTimeToInstant('2026-03-08', '24:00', NY)).toThrow(/time/);
  });
});

describe('cached zone offsets', () => {
  // Offsets are cached per zone (fixed-offset zones once, others per 15-minute stretch);
  // every instant must still show exactly the wall clock Intl shows, across transitions,
  // half-hour DST (Lord Howe), odd offsets (Kathmandu's 1986 +05:30 -> +05:45), local mean
  // time with seconds (New York before 1883) and fixed zones.
  // Intl's own rendering (Swedish is ISO-like: "2026-03-08 01:30:00"), independent of zoned.ts.
  const intlWall = (ms: number, tz: string) => new Date(ms).toLocaleString('sv-SE', { timeZone: tz });
  const cases: [string, string][] = [
    [NY, '2026-03-08T06:00:00Z'],
    [NY, '2026-11-01T05:00:00Z'],
    [NY, '1883-11-18T16:30:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T14:30:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
    ['Asia/Kathmandu', '1985-12-31T18:00:00Z'],
    ['Etc/GMT+5', '2026-03-08T06:00:00Z'],
    ['UTC', '2026-03-08T06:00:00Z'],
  ];
  it.each(cases)('%s around %s: every 31 seconds for 3 hours matches Intl', (tz, around) => {
    const start = new Date(around).getTime() - 90 * 60_000;
    for (let ms = start; ms <= start + 3 * 3_600_000; ms += 31_000) {
      const p = instantToZonedParts(new Date(ms), tz);
      expect(`${p.date} ${p.time}`, `${tz} at ${new Date(ms).toISOString()}`).toBe(intlWall(ms, tz));
    }
  });
});
