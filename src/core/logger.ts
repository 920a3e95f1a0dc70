/**
 * The logging port. Everything below the app layer logs through this shape; src/log/
 * builds the pino logger that fills it, so no layer but log/ depends on pino.
 */
/** The subset of pino's logger that handlers and services use. */
export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
