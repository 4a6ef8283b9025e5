export {
  type CronDialect,
  type CronSpec,
  countFireTimes,
  fireTimesBetween,
  lastFireTimeBetween,
  nextFireTimes,
  type ParseCronResult,
  parseCron,
} from './cron.js';
export { type FormatPreset, formatFireTime, type ScheduleScope, scheduleScope } from './format.js';
export {
  DEFAULT_COUNT_LIMIT,
  DEFAULT_FIRE_CAP,
  DEFAULT_MISFIRE_THRESHOLD_MS,
  type DueFireTime,
  type DueFireTimesInput,
  type DueFireTimesResult,
  deterministicRunId,
  dueFireTimes,
  MISFIRE_POLICIES,
  type MisfirePolicy,
  type ScheduleWindow,
} from './misfire.js';
export { checkScheduleParams, renderScheduleParams, type ScheduleTemplateIssue } from './params.js';
export { canonicalTimeZone } from './tz.js';
