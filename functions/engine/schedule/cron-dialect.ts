/**
 * The shape of a cron expression: nicknames, field count, and which dialect it is read in.
 */
import { fail } from './cron-fields.js';

/** `standard`: cron (5 fields, or 6 with seconds first). `quartz`: Quartz (`?` in a day field, or 7 fields). */
export type CronDialect = 'standard' | 'quartz';

export const DAY_NAMES: Readonly<Record<string, number>> = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 };

export const MONTH_NAMES: Readonly<Record<string, number>> = {
  JAN: 1,
  FEB: 2,
  MAR: 3,
  APR: 4,
  MAY: 5,
  JUN: 6,
  JUL: 7,
  AUG: 8,
  SEP: 9,
  OCT: 10,
  NOV: 11,
  DEC: 12,
};

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** An expression split into six fields (seconds first, year dropped) and its dialect. */
export interface CronShape {
  readonly dialect: CronDialect;
  readonly fields: readonly [sec: string, min: string, hour: string, dom: string, month: string, dow: string];
}

/**
 * Splits a trimmed expression. Quartz when it has 7 fields, or 6 with `?` in a day field; otherwise
 * cron. `strict` refuses what Quartz refuses: a 7-field expression without `?` in a day field.
 */
export function shapeOf(expression: string, strict: boolean): CronShape {
  let expr = expression;
  if (expr.startsWith('@')) {
    const nick = NICKNAMES[expr.toLowerCase()];
    if (!nick) fail(`unknown nickname '${expr}' (known: ${Object.keys(NICKNAMES).join(', ')})`);
    expr = nick;
  }
  const fields = expr.split(/\s+/);
  const given = fields.length;
  if (given < 5 || given > 7) {
    fail(`expected 5 fields (min hour day month weekday), 6 (with seconds first) or 7 (Quartz, with year last); got ${given}`);
  }
  if (given === 7) {
    const year = fields.pop();
    if (year !== '*') fail(`the year field must be '*' (restricting years is not supported), got '${year}'`);
  }
  if (given === 5) fields.unshift('0');
  const [sec, min, hour, dom, month, dow] = fields as [string, string, string, string, string, string];
  fields.forEach((f, i) => {
    if (f.includes('?') && !((i === 3 || i === 5) && f === '?')) {
      const hint =
        given === 6 && (i === 2 || i === 4)
          ? ' (this looks like an AWS EventBridge expression, which has no seconds field; Quartz form starts with seconds)'
          : '';
      fail(`'?' is only allowed as the whole day-of-month or day-of-week field${hint}`);
    }
  });
  if (dom === '?' && dow === '?') fail("'?' can be used in day-of-month or day-of-week, not both");
  const dialect: CronDialect = given === 7 || (given === 6 && (dom === '?' || dow === '?')) ? 'quartz' : 'standard';
  if (strict && given === 7 && dom !== '?' && dow !== '?') {
    fail(
      `Quartz form: set one day field and put '?' in the other (e.g. '${sec} ${min} ${hour} ${dom} ${month} ? *'); both day fields together are not supported`,
    );
  }
  return { dialect, fields: [sec, min, hour, dom, month, dow] };
}
