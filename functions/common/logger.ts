import { pino } from 'pino';

/**
 * Structured JSON logs, one object per line. `BATON_LOG_LEVEL` (default `info`; `silent` in tests
 * unless set) controls verbosity.
 */
// In Lambda, write synchronously: an asynchronous write may be lost when the sandbox is frozen, and
// the sweeper's log line feeds a metric.
const destination = process.env.AWS_LAMBDA_FUNCTION_NAME ? pino.destination({ sync: true }) : undefined;

export const log = pino(
  {
    level: process.env.BATON_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: { svc: 'baton' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  destination,
);

export type Logger = typeof log;
