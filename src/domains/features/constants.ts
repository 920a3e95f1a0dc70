/** Cross-source daily features: one row per (symbol, session) joining prices and FRED. */
export const FEATURES_DOMAIN = 'features';

export const PIPELINES = {
  dailyMatrix: `${FEATURES_DOMAIN}.daily_matrix`,
} as const;

/** Symbols of the bundled demo fixtures: the matrix's rows when nothing else is configured. */
export const DEFAULT_SYMBOLS = ['AAPL', 'MSFT', 'NVDA'] as const;

export const SYMBOLS_ENV = 'SLUICE_FEATURES_SYMBOLS';
export const EXPORT_DIR_ENV = 'SLUICE_FEATURES_EXPORT_DIR';
/** Relative to the working directory. */
export const DEFAULT_EXPORT_DIR = 'exports/features';

export const MATRIX_VERSION = 'features.daily_matrix/1';
