import { createHash } from 'node:crypto';
import type { EventName } from '../../engine/definition/notify.js';

/** The `source` of every Baton event (EventBridge rules match on it). */
export const EVENT_SOURCE = 'baton';

/** EventBridge detail-types, one per kind of event, modelled on "Step Functions Execution Status Change". */
export const DETAIL_TYPES = {
  run: 'Baton Run Status Change',
  task: 'Baton Task Failed',
  retry: 'Baton Task Retrying',
  sla: 'Baton Run SLA Missed',
} as const;

/**
 * One event, as logged, put on the EventBridge bus (`detail-type`, `source`, `time`, `detail`) and POSTed
 * to webhooks. `id` is derived from the stream record of the transition, so every delivery of that
 * record yields the same id: it is the webhook's `Idempotency-Key` (docs/events.md).
 */
export interface BatonEvent {
  readonly id: string;
  readonly name: EventName | 'queued' | 'pending';
  readonly source: typeof EVENT_SOURCE;
  readonly 'detail-type': (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];
  readonly time: string;
  readonly runId: string;
  readonly detail: Record<string, unknown>;
}

type Image = Record<string, any>;

const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

/**
 * The events one stream record stands for: a run whose status changed, a task that failed for good, a
 * task attempt that failed and will be retried, a run clock marked `sla_missed`. Pure: everything comes from the record's images, so every delivery of
 * the same record (a retry, a replay after a restart) yields the same events with the same ids.
 */
export function eventsOf(next: Image, prev: Image | undefined, sequence: string | undefined, now: number): BatonEvent[] {
  if (next.status === prev?.status) return [];
  const id = (name: string) =>
    createHash('sha256')
      .update([next.runId, next.kind, next.name ?? '', name, sequence ?? `${prev?.status}>${next.status}:${stamp(next)}`].join('|'))
      .digest('hex')
      .slice(0, 32);
  const base = (name: BatonEvent['name'], type: BatonEvent['detail-type'], detail: Record<string, unknown>): BatonEvent => ({
    id: id(name),
    name,
    source: EVENT_SOURCE,
    'detail-type': type,
    time: new Date(now).toISOString(),
    runId: next.runId,
    detail,
  });
  if (next.kind === 'run') {
    const change = (status: string, previousStatus: string | null, startedAt: unknown) =>
      base(status as BatonEvent['name'], DETAIL_TYPES.run, {
        runId: next.runId,
        workflow: next.workflow,
        version: next.version,
        status,
        previousStatus,
        startDate: iso(startedAt),
        stopDate: iso(next.endedAt),
        trigger: next.trigger ?? null,
        ...(next.failure && { error: next.failure.reason, cause: next.failure.message, failedTask: next.failure.task || null }),
        ...(next.cancelReason && { cause: next.cancelReason }),
        ...(next.recoveries !== undefined && { recoveries: next.recoveries }),
      });
    // A run created running (nothing gated its start) went through `queued` in one write: its record
    // stands for both changes, as the two records of a queued run that was then started do.
    if (!prev && next.status === 'running') return [change('queued', null, undefined), change('running', 'queued', next.startedAt)];
    return [change(next.status, prev?.status ?? null, next.startedAt)];
  }
  if (next.kind === 'task' && next.status === 'failed') {
    return [
      base('task_failed', DETAIL_TYPES.task, {
        runId: next.runId,
        task: next.name,
        attempt: next.attempt,
        status: 'failed',
        error: next.error?.reason ?? null,
        cause: next.error?.message ?? null,
        startDate: iso(next.attemptStartedAt ?? next.startedAt),
        stopDate: iso(next.endedAt),
      }),
    ];
  }
  if (next.kind === 'task' && next.status === 'waiting' && next.wake === 'retry' && prev?.status === 'running') {
    // The retry write appends the failed attempt's record and keeps the attempt number until the retry is due.
    const last = Array.isArray(next.attempts) ? next.attempts[next.attempts.length - 1] : undefined;
    return [
      base('task_retrying', DETAIL_TYPES.retry, {
        runId: next.runId,
        task: next.name,
        attempt: next.attempt,
        status: 'retrying',
        error: next.error?.reason ?? null,
        cause: next.error?.message ?? null,
        startDate: iso(last?.startedAt ?? prev.attemptStartedAt),
        stopDate: iso(last?.endedAt),
        nextAttempt: next.attempt + 1,
        nextAttemptDate: iso(next.dueAt),
      }),
    ];
  }
  if (next.kind === 'clock' && next.status === 'sla_missed') {
    return [
      base('sla_missed', DETAIL_TYPES.sla, {
        runId: next.runId,
        workflow: next.workflow,
        slaDate: iso(next.slaAt),
        missedDate: iso(next.slaMissedAt),
        ...(next.episode && { recoveries: next.episode }),
      }),
    ];
  }
  return [];
}

/** What tells two transitions to the same status apart when no stream sequence number is known. */
function stamp(i: Image): string {
  const parts = [i.recoveries ?? 0, i.pausedAt ?? '', i.endedAt ?? '', i.startedAt ?? '', i.attempt ?? ''];
  // A recovered run's clock misses its sla again in a new episode.
  return (i.episode ? [...parts, i.episode] : parts).join(':');
}
