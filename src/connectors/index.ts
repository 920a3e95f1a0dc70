export * from './errors.js';
export * from './redact.js';
export * from './rate-limiter.js';
export * from './circuit-breaker.js';
export * from './http-source.js';
export * from './file-source.js';
export { abortableSleep } from './abortable.js';
export * from './file-pieces.js';
