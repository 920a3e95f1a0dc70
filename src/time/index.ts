/**
 * The time layer: dates, time zones, cron, trading calendars, market-relative times and
 * partition calendars. Pure functions and immutable objects; no I/O.
 */
export { TimeInputError } from './errors.js';
export {
  FRIDAY,
  MONDAY,
  SATURDAY,
  SUNDAY,
  THURSDAY,
  TUESDAY,
  WEDNESDAY,
  addDays,
  dayOfWeek,
  daysBetween,
  fromEpochDay,
  isValidDate,
  isWeekend,
  parseDate,
  parseDateRange,
  toEpochDay,
  type DateString,
  type RangeFieldNames,
} from './civil-date.js';
export {
  formatZonedIso,
  instantToZonedParts,
  parseTimeOfDay,
  validateTimezone,
  zonedDate,
  zonedDateTimeToInstant,
  type TimeOfDay,
  type ZonedParts,
} from './zoned.js';
export {
  TradingCalendar,
  type CalendarOverrides,
  type CalendarRules,
  type EarlyClose,
  type NamedDate,
  type Session,
  type YearSchedule,
} from './trading-calendar.js';
export {
  XNYS_RULES,
  XNYS_SPECIAL_CLOSURES,
  XNYS_SPECIAL_EARLY_CLOSES,
  createXnysCalendar,
  easterSunday,
} from './xnys-calendar.js';
export { getCalendar, knownCalendars } from './calendars.js';
export {
  MAX_FIRE_TIMES,
  fireTimesBetween,
  iterateFireTimes,
  nextFireTimes,
  validateCron,
  type FireTimeOptions,
  type NextFireOptions,
} from './cron.js';
export {
  formatMarketTime,
  marketTimeOn,
  nextMarketTimes,
  parseMarketTime,
  type MarketTime,
  type NextMarketTimeOptions,
} from './market-time.js';
export {
  fridayForPublicationMonday,
  lastNWeekEndings,
  publicationMondayFor,
  sessionDates,
  weekEndingFor,
  weekEndingFridays,
} from './partitions.js';
export { isInSession, sessionContaining, sessionOnOrAfter, type WindowKind } from './session-window.js';
export { MIN_INTERVAL_MS, intervalTimesBetween, iterateIntervalTimes, nextIntervalTimes, type IntervalSpec } from './interval.js';
export { deadlineFor, parseDeadline, partitionDay, type DeadlineSpec } from './deadline.js';
