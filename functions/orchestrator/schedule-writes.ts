/**
 * Writes to a schedule that race the scheduler's ticks: create-or-replace, pause and resume. Each is a
 * read, a decision and a conditional write, retried when the schedule changed in between (a tick moved
 * its mark), up to `MAX_SCHEDULE_WRITE_ATTEMPTS`.
 */
import { ContentionError } from '../common/errors.js';
import { createSchedule, getSchedule, replaceSchedule, type ScheduleFields, type ScheduleItem, setEnabled } from '../store/schedules.js';
import type { Deps } from './deps.js';
import { nextFireAfter } from './scheduler.js';

/** Read-decide-write rounds before a schedule write gives up (the API then answers 503, Retry-After). */
export const MAX_SCHEDULE_WRITE_ATTEMPTS = 20;

function gaveUp(deps: Deps, workflow: string, scheduleId: string, what: string): ContentionError {
  deps.log.warn(
    { workflow, schedule: scheduleId, bound: 'MAX_SCHEDULE_WRITE_ATTEMPTS', attempts: MAX_SCHEDULE_WRITE_ATTEMPTS },
    `schedule ${what} gave up`,
  );
  return new ContentionError(
    `schedule ${scheduleId} is being changed concurrently; retry`,
    'MAX_SCHEDULE_WRITE_ATTEMPTS',
    MAX_SCHEDULE_WRITE_ATTEMPTS,
  );
}

/**
 * Creates the schedule, or replaces an existing one keeping its fire-time mark (so a replace neither
 * refires nor skips). `keepEnabled`: a body without `enabled` keeps a paused schedule paused.
 */
export async function putSchedule(
  deps: Deps,
  fields: ScheduleFields,
  keepEnabled: boolean,
): Promise<{ schedule: ScheduleItem; created: boolean }> {
  const { workflow, scheduleId, spec, start, end } = fields;
  const now = deps.now();
  for (let tries = 0; tries < MAX_SCHEDULE_WRITE_ATTEMPTS; tries++) {
    const existing = await getSchedule(deps.db, workflow, scheduleId);
    if (!existing) {
      if (await createSchedule(deps.db, fields, now, nextFireAfter(spec, now, start, end))) {
        deps.log.info({ workflow, schedule: scheduleId, cron: spec.expression, timezone: spec.timezone }, 'schedule created');
        const created = await getSchedule(deps.db, workflow, scheduleId);
        if (created) return { schedule: created, created: true };
      }
      continue;
    }
    const kept = keepEnabled ? { ...fields, enabled: existing.enabled } : fields;
    const next = nextFireAfter(spec, existing.lastFireTime, start, end);
    const updated = await replaceSchedule(deps.db, existing, kept, deps.now(), next);
    if (updated) {
      deps.log.info({ workflow, schedule: scheduleId, cron: spec.expression, timezone: spec.timezone }, 'schedule updated');
      return { schedule: updated, created: false };
    }
  }
  throw gaveUp(deps, workflow, scheduleId, 'write');
}

/** Pauses or resumes; undefined if there is no such schedule. Resuming makes it due again from its mark. */
export async function setScheduleEnabled(
  deps: Deps,
  workflow: string,
  scheduleId: string,
  enabled: boolean,
): Promise<ScheduleItem | undefined> {
  for (let tries = 0; tries < MAX_SCHEDULE_WRITE_ATTEMPTS; tries++) {
    const s = await getSchedule(deps.db, workflow, scheduleId);
    if (!s) return undefined;
    if (s.enabled === enabled) return s;
    // Resuming: due again from the mark, so the time spent paused is handled by the misfire policy.
    const next = enabled ? nextFireAfter(s.spec, s.lastFireTime, s.start, s.end) : undefined;
    const done = await setEnabled(deps.db, s, enabled, deps.now(), next);
    if (done) {
      deps.log.info({ workflow, schedule: scheduleId, enabled }, enabled ? 'schedule resumed' : 'schedule paused');
      return done;
    }
  }
  throw gaveUp(deps, workflow, scheduleId, enabled ? 'resume' : 'pause');
}
