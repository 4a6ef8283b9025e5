import { pino } from 'pino';

/**
 * Structured JSON logs, one object per line. `BATON_LOG_LEVEL` (default `info`; `silent` in tests
 * unless set) controls verbosity.
 */
// In Lambda, write synchronously: an asynchronous write may be lost when the sandbox is frozen, and
// a log line is often the only trace of a failure.
const destination = process.env.AWS_LAMBDA_FUNCTION_NAME ? pino.destination({ sync: true }) : undefined;

/** Baton's logger options (exported so a test can check what an error log line keeps). */
export const loggerOptions: pino.LoggerOptions = {
  level: process.env.BATON_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { svc: 'baton' },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  // Log errors as objects under `err`: type, message, stack, and the `cause` chain as nested objects.
  serializers: { err: pino.stdSerializers.errWithCause },
};

export const log = pino(loggerOptions, destination);

export type Logger = typeof log;
