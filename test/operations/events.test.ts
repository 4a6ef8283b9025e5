import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { eventBridgePublisher } from '../../functions/orchestrator/events/eventbridge.js';
import { eventsOf } from '../../functions/orchestrator/events/shapes.js';

const run = (status: string, extra: Record<string, unknown> = {}) => ({
  kind: 'run',
  runId: 'r1',
  workflow: 'wf',
  version: 2,
  status,
  startedAt: 1_700_000_000_000,
  trigger: { type: 'api' },
  ...extra,
});

describe('events from stream records', () => {
  it('one event per status change, the same id for every delivery of one record, none without a change', () => {
    const [e] = eventsOf(
      run('failed', { endedAt: 1_700_000_001_000, failure: { task: 'b', reason: 'http_status', message: 'HTTP 500' } }),
      run('running'),
      '42',
      5,
    );
    expect(e).toMatchObject({
      name: 'failed',
      source: 'baton',
      'detail-type': 'Baton Run Status Change',
      runId: 'r1',
      detail: {
        runId: 'r1',
        workflow: 'wf',
        version: 2,
        status: 'failed',
        previousStatus: 'running',
        error: 'http_status',
        cause: 'HTTP 500',
        failedTask: 'b',
      },
    });
    expect(e?.detail.stopDate).toBe('2023-11-14T22:13:21.000Z');
    // A retried record: same id (the webhook's Idempotency-Key), whenever it is handled.
    expect(eventsOf(run('failed'), run('running'), '42', 99)[0]?.id).toBe(e?.id);
    // Another transition to the same status (a second pause): another id.
    expect(eventsOf(run('paused'), run('running'), '43', 5)[0]?.id).not.toBe(eventsOf(run('paused'), run('running'), '44', 5)[0]?.id);
    expect(eventsOf(run('running'), run('running'), '45', 5)).toEqual([]);
  });

  it('a run created running (nothing gated its start): its one record is both changes, queued then running, each once', () => {
    const created = run('running', { createdAt: 1_700_000_000_000 });
    const events = eventsOf(created, undefined, '41', 5);
    expect(events.map((e) => [e.name, e.detail.status, e.detail.previousStatus, e.detail.startDate])).toEqual([
      ['queued', 'queued', null, null],
      ['running', 'running', 'queued', '2023-11-14T22:13:20.000Z'],
    ]);
    // The same as a queued run's two records give, and the same ids at every delivery of the record.
    expect(eventsOf(created, undefined, '41', 99).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
    expect(eventsOf(run('queued', { startedAt: undefined }), undefined, '40', 5).map((e) => e.name)).toEqual(['queued']);
  });

  it('a task failing for good and an sla missed are events; other task changes are not', () => {
    const task = (status: string) => ({
      kind: 'task',
      runId: 'r1',
      name: 'b',
      attempt: 3,
      status,
      error: { reason: 'timeout', message: 'slow' },
    });
    expect(eventsOf(task('failed'), task('running'), '1', 0)[0]).toMatchObject({
      name: 'task_failed',
      'detail-type': 'Baton Task Failed',
      detail: { task: 'b', attempt: 3, error: 'timeout', cause: 'slow' },
    });
    // A suspended attempt (a wait) is not an event; a failed one that will be retried is.
    expect(eventsOf({ ...task('waiting'), wake: 'resume' }, task('running'), '2', 0)).toEqual([]);
    const retrying = {
      ...task('waiting'),
      wake: 'retry',
      dueAt: 1_700_000_005_000,
      attempts: [{ attempt: 3, status: 'failed', startedAt: 1_700_000_000_000, endedAt: 1_700_000_001_000 }],
    };
    const [r] = eventsOf(retrying, task('running'), '6', 0);
    expect(r).toMatchObject({
      name: 'task_retrying',
      'detail-type': 'Baton Task Retrying',
      detail: {
        task: 'b',
        attempt: 3,
        status: 'retrying',
        error: 'timeout',
        cause: 'slow',
        stopDate: '2023-11-14T22:13:21.000Z',
        nextAttempt: 4,
        nextAttemptDate: '2023-11-14T22:13:25.000Z',
      },
    });
    expect(eventsOf(retrying, task('running'), '6', 99)[0]?.id).toBe(r?.id);
    // The retry falling due (waiting → queued) is not another event.
    expect(eventsOf({ ...task('queued'), attempt: 4 }, retrying, '7', 0)).toEqual([]);
    expect(eventsOf(task('succeeded'), task('running'), '3', 0)).toEqual([]);
    const clock = (status: string) => ({ kind: 'clock', runId: 'r1', workflow: 'wf', status, slaAt: 0, slaMissedAt: 10 });
    expect(eventsOf(clock('sla_missed'), clock('armed'), '4', 0)[0]).toMatchObject({
      name: 'sla_missed',
      'detail-type': 'Baton Run SLA Missed',
    });
    expect(eventsOf(clock('done'), clock('sla_missed'), '5', 0)).toEqual([]);
  });

  it('PutEvents: source, detail-type, the bus, the event id in the detail; at most 10 entries a call; refusals throw', async () => {
    const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const mock = mockClient(client);
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const events = Array.from({ length: 12 }, (_, i) => eventsOf(run('succeeded'), run('running'), String(i), 0)[0]!);
    await eventBridgePublisher(client, 'team-bus')(events);
    const calls = mock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
    expect(calls.map((c) => c.length)).toEqual([10, 2]);
    const first = calls[0]?.[0];
    expect(first).toMatchObject({ EventBusName: 'team-bus', Source: 'baton', DetailType: 'Baton Run Status Change' });
    expect(JSON.parse(first?.Detail ?? '{}')).toMatchObject({
      eventId: events[0]?.id,
      name: 'succeeded',
      runId: 'r1',
      status: 'succeeded',
    });
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    await expect(eventBridgePublisher(client, 'team-bus')(events.slice(0, 1))).rejects.toThrow(/InternalFailure: boom/);
    mock.restore();
  });
});
