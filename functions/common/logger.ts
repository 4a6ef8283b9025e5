import { pino } from 'pino';

/**
 * Structured JSON logs, one object per line. `BATON_LOG_LEVEL` (default `info`; `silent` in tests
 * unless set) controls verbosity.
 */
export const log = pino({
  level: process.env.BATON_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { svc: 'baton' },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

export type Logger = typeof log;
