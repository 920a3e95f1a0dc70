/**
 * Calendar registry: config and CLI name a calendar by string ("XNYS"); this turns the name
 * into a TradingCalendar, with the user's overrides applied.
 *
 * Unknown names fail loudly with the list of known ones, because a typo in a schedule's
 * `calendar` must stop the config from loading, not silently fire on every weekday.
 */
import { TimeInputError } from './errors.js';
import type { CalendarOverrides, TradingCalendar } from './trading-calendar.js';
import { createXnysCalendar } from './xnys-calendar.js';

const FACTORIES: Readonly<Record<string, (overrides?: CalendarOverrides) => TradingCalendar>> = {
  XNYS: createXnysCalendar,
};

/** Other spellings users reach for. Matching is case-insensitive. */
const ALIASES: Readonly<Record<string, string>> = {
  NYSE: 'XNYS',
};

// Calendars are immutable, so the plain (no-override) instance is shared and its per-year
// rule evaluation is memoised across the process.
const shared = new Map<string, TradingCalendar>();

export function knownCalendars(): string[] {
  return Object.keys(FACTORIES);
}

/**
 * The calendar registered as `name` ("XNYS", case-insensitive; "NYSE" is an alias).
 * With overrides, a fresh instance carrying them; without, a shared instance.
 */
export function getCalendar(name: string, overrides?: CalendarOverrides): TradingCalendar {
  const upper = typeof name === 'string' ? name.trim().toUpperCase() : '';
  const key = ALIASES[upper] ?? upper;
  const factory = FACTORIES[key];
  if (!factory) {
    throw new TimeInputError('calendar', name, `name a known calendar (known: ${knownCalendars().join(', ')})`);
  }
  const hasOverrides = overrides !== undefined && (overrides.adhoc_closures !== undefined || overrides.early_closes !== undefined);
  if (hasOverrides) return factory(overrides);
  let cal = shared.get(key);
  if (!cal) {
    cal = factory();
    shared.set(key, cal);
  }
  return cal;
}
