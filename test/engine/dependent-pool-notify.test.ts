import { describe, expect, it } from 'vitest';
import { dependentSchema, parseOffset } from '../../functions/engine/definition/dependent.js';
import { type ParseOptions, parseDefinition, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { MAX_NOTIFY } from '../../functions/engine/definition/notify.js';
import { isFailureReason } from '../../functions/engine/failure-reason.js';
import { criteriaFor, logicalTime, runMatches } from '../../functions/engine/flow/dependency-match.js';
import { executors } from './fixtures.js';

/**
 * The smaller task and definition fields at their edges: a dependent task's parsed form (exactly), the
 * pool fields and `notify` with the messages a user reads, and the closed set of failure reasons.
 */
const opts: ParseOptions = { executors: { ...executors, dependent: { schema: dependentSchema } } };

function parsed(body: unknown) {
  const r = parseDefinition(body, opts);
  if (!r.ok) throw new Error(`expected a valid definition: ${JSON.stringify(r.errors)}`);
  return r.value;
}

function errorsOf(body: unknown): ValidationIssue[] {
  const r = parseDefinition(body, opts);
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

const task = (t: Record<string, unknown>) => ({ name: 'wf', tasks: { a: { type: 'noop', ...t } } });
const D = 86_400_000;

describe('dependent: the parsed fields, exactly', () => {
  it('absent params and window stay absent; a repeated status is one', () => {
    expect(dependentSchema.parse({ workflow: 'up', params: {}, status: ['failed', 'failed', 'skipped'] })).toStrictEqual({
      workflow: 'up',
      params: {},
      statuses: ['failed', 'skipped'],
    });
    expect(dependentSchema.parse({ workflow: 'up', window: { from: '-1d', to: '-1d' } })).toStrictEqual({
      workflow: 'up',
      window: { fromMs: -D, toMs: -D },
      statuses: ['succeeded'],
    });
  });

  it('criteria: absent params and window stay absent; the window is made absolute', () => {
    expect(criteriaFor({ workflow: 'up', statuses: ['succeeded'] }, 1000)).toStrictEqual({ workflow: 'up', statuses: ['succeeded'] });
    expect(criteriaFor({ workflow: 'up', params: { a: 1 }, window: { fromMs: -10, toMs: 5 }, statuses: ['failed'] }, 1000)).toStrictEqual({
      workflow: 'up',
      params: { a: 1 },
      statuses: ['failed'],
      window: { from: 990, to: 1005 },
    });
  });

  it('offsets in seconds: up to 365 days either way, rounded to the millisecond', () => {
    expect(parseOffset(365 * 86_400)).toBe(365 * D);
    expect(parseOffset(-365 * 86_400)).toBe(-365 * D);
    expect(parseOffset(365 * 86_400 + 1)).toBeUndefined();
    expect(parseOffset(0.0016)).toBe(2);
    expect(parseOffset(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseOffset('  -2h  ')).toBe(-2 * 3_600_000);
  });

  it('a logical time only from a fire time that is a date string', () => {
    expect(logicalTime({ createdAt: 7, trigger: { fireTime: 5 } })).toBe(7);
    expect(logicalTime({ createdAt: 7 })).toBe(7);
  });

  it('a run outside the window does not match, whatever its status and params', () => {
    const c = criteriaFor({ workflow: 'up', window: { fromMs: 0, toMs: 0 }, statuses: ['succeeded'] }, 1000);
    expect(runMatches(c, { runId: 'r', status: 'succeeded', createdAt: 1000 })).toBe(true);
    expect(runMatches(c, { runId: 'r', status: 'succeeded', createdAt: 1001 })).toBe(false);
  });
});

describe('pool fields', () => {
  it('kept when given, absent when not', () => {
    expect(parsed(task({ pool: 'db', poolSlots: 10_000, priority: 1000 })).tasks.a).toStrictEqual({
      type: 'noop',
      after: [],
      retry: { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 },
      pool: 'db',
      poolSlots: 10_000,
      priority: 1000,
      config: {},
    });
    expect(parsed(task({ pool: 'db', priority: -1000 })).tasks.a?.priority).toBe(-1000);
  });

  it('each refused with its message at its path', () => {
    expect(errorsOf(task({ pool: '9db', poolSlots: 0, priority: 1001 }))).toStrictEqual([
      { path: 'tasks.a.pool', message: 'must start with a letter and contain only letters, digits, _ and - (at most 64 characters)' },
      { path: 'tasks.a.poolSlots', message: 'must be at least 1' },
      { path: 'tasks.a.priority', message: 'must be at most 1000' },
    ]);
    expect(errorsOf(task({ pool: 3, poolSlots: 10_001, priority: -1001 }))).toStrictEqual([
      { path: 'tasks.a.pool', message: 'expected a pool name' },
      { path: 'tasks.a.poolSlots', message: 'must be at most 10000' },
      { path: 'tasks.a.priority', message: 'must be at least -1000' },
    ]);
    expect(errorsOf(task({ poolSlots: 2, priority: 0.5 }))).toStrictEqual([
      { path: 'tasks.a.priority', message: 'expected an integer' },
      { path: 'tasks.a.poolSlots', message: 'poolSlots needs pool' },
    ]);
  });
});

describe('notify', () => {
  const withNotify = (notify: unknown) => ({ name: 'wf', notify, tasks: { a: { type: 'noop' } } });
  const entry = { on: ['failed'], webhook: 'http://hooks.example.com/x' };

  it(`at most ${MAX_NOTIFY} entries, webhooks of at most 2048 characters over http or https`, () => {
    expect(parsed(withNotify(new Array(MAX_NOTIFY).fill(entry))).notify).toHaveLength(MAX_NOTIFY);
    expect(errorsOf(withNotify(new Array(MAX_NOTIFY + 1).fill(entry)))).toStrictEqual([
      { path: 'notify', message: `at most ${MAX_NOTIFY} entries` },
    ]);
    const url = (n: number) => `https://h.example.com/${'p'.repeat(n - 'https://h.example.com/'.length)}`;
    expect(parsed(withNotify([{ ...entry, webhook: url(2048) }])).notify?.[0]?.webhook).toHaveLength(2048);
    expect(errorsOf(withNotify([{ ...entry, webhook: url(2049) }]))).toStrictEqual([
      { path: 'notify[0].webhook', message: 'at most 2048 characters' },
    ]);
    expect(errorsOf(withNotify([{ ...entry, webhook: 'not a url' }]))).toStrictEqual([
      { path: 'notify[0].webhook', message: 'expected an http or https URL' },
    ]);
    expect(errorsOf(withNotify([{ ...entry, webhook: 'mailto:a@b.c' }]))).toStrictEqual([
      { path: 'notify[0].webhook', message: 'expected an http or https URL' },
    ]);
  });

  it('names the events it accepts', () => {
    expect(errorsOf(withNotify([{ ...entry, on: ['exploded'] }]))).toStrictEqual([
      {
        path: 'notify[0].on[0]',
        message: 'expected one of running, paused, succeeded, failed, cancelled, skipped, task_failed, task_retrying, sla_missed',
      },
    ]);
    expect(errorsOf(withNotify({ on: ['failed'] }))).toStrictEqual([{ path: 'notify', message: 'expected a list of { on, webhook }' }]);
  });
});

describe('failure reasons', () => {
  it('the closed set, and http_ with exactly three digits', () => {
    expect(isFailureReason('timeout')).toBe(true);
    expect(isFailureReason('http_503')).toBe(true);
    expect(isFailureReason('http_50')).toBe(false);
    expect(isFailureReason('http_5030')).toBe(false);
    expect(isFailureReason('xhttp_503')).toBe(false);
    expect(isFailureReason('made_up')).toBe(false);
  });
});
