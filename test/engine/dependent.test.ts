import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dependentSchema, parseOffset } from '../../functions/engine/definition/dependent.js';
import { type ParseOptions, parseDefinition, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { criteriaFor, inWindow, logicalTime, paramsMatch, runMatches } from '../../functions/engine/flow/dependency-match.js';
import { executors as registry } from '../../functions/tasks/registry.js';
import { executors as base } from './fixtures.js';

const opts: ParseOptions = { executors: { ...base, dependent: { schema: dependentSchema } } };

function def(task: Record<string, unknown>) {
  return { name: 'down', params: { day: { type: 'string' } }, tasks: { dep: { type: 'dependent', ...task } } };
}

function errors(task: Record<string, unknown>): ValidationIssue[] {
  const r = parseDefinition(def(task), opts);
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

const H = 3_600_000;
const D = 24 * H;

describe('type dependent: validation at PUT', () => {
  it('accepts workflow with params (templates), a window, a status or a list, and the engine timeout', () => {
    const r = parseDefinition(
      def({
        workflow: 'up',
        params: { day: '${params.day}' },
        window: { from: '-1d', to: 0 },
        status: ['succeeded', 'failed'],
        timeout: '2h',
      }),
      opts,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.value.tasks.dep?.timeoutMs).toBe(2 * H);
    // Stored as written: the window is read again (and the templates rendered) when the attempt runs.
    expect(r.value.tasks.dep?.config).toEqual({
      workflow: 'up',
      params: { day: '${params.day}' },
      window: { from: '-1d', to: 0 },
      status: ['succeeded', 'failed'],
    });
  });

  it('the example in docs/dependent.md is valid with the real task types', () => {
    const doc = readFileSync(new URL('../../docs/dependent.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml).toContain('type: dependent');
    const r = parseDefinition(yaml, { executors: registry, contentType: 'application/yaml' });
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('parses to offsets in ms, status succeeded by default, to = 0 by default', () => {
    expect(dependentSchema.parse({ workflow: 'up', window: { from: '-1h30m' } })).toEqual({
      workflow: 'up',
      window: { fromMs: -1.5 * H, toMs: 0 },
      statuses: ['succeeded'],
    });
    expect(dependentSchema.parse({ workflow: 'up', params: { a: 1 }, status: 'failed' }).statuses).toEqual(['failed']);
  });

  it.each([
    [{ params: { day: 'x' } }, 'tasks.dep.workflow', /required/],
    [{ workflow: '9up', params: {} }, 'tasks.dep.workflow', /workflow name/],
    [{ workflow: 'up' }, 'tasks.dep', /give params, window or both/],
    [{ workflow: 'up', window: { from: 'yesterday' } }, 'tasks.dep.window.from', /invalid offset "yesterday"/],
    [{ workflow: 'up', window: { from: '-400d' } }, 'tasks.dep.window.from', /at most 365d/],
    [{ workflow: 'up', window: { from: '0', to: '-1d' } }, 'tasks.dep.window.to', /must not be before from/],
    [{ workflow: 'up', window: { from: '-1d', until: '0' } }, 'tasks.dep.window.until', /unknown field/],
    [{ workflow: 'up', window: '-1d' }, 'tasks.dep.window', /from: -1d/],
    [{ workflow: 'up', params: ['day'] }, 'tasks.dep.params', /object of param values/],
    [{ workflow: 'up', params: {}, status: 'running' }, 'tasks.dep.status', /succeeded, failed, cancelled, skipped/],
    [{ workflow: 'up', params: {}, status: [] }, 'tasks.dep.status', /at least one status/],
    [{ workflow: 'up', params: {}, state: 'x' }, 'tasks.dep.state', /unknown field/],
    [{ workflow: 'up', params: { day: '${params.nope}' } }, 'tasks.dep.params.day', /undeclared param "nope"/],
  ])('%j is refused at %s', (task, path, message) => {
    const es = errors(task);
    expect(
      es.some((e) => e.path === path && message.test(e.message)),
      JSON.stringify(es),
    ).toBe(true);
  });
});

describe('window offsets', () => {
  it.each([
    ['0', 0],
    [0, 0],
    ['-1d', -D],
    ['+2h', 2 * H],
    ['30m', 30 * 60_000],
    ['- 1h30m', -1.5 * H],
    [-3600, -H],
    ['-365d', -365 * D],
  ])('%j is %d ms', (v, ms) => expect(parseOffset(v)).toBe(ms));

  it.each(['', '-', '1x', '--1d', 'yesterday', '-366d', null, {}, Number.NaN])('%j is not an offset', (v) =>
    expect(parseOffset(v)).toBeUndefined(),
  );
});

describe('which run matches', () => {
  const T = Date.parse('2026-12-03T02:00:00Z');
  const run = (o: Partial<Parameters<typeof runMatches>[1]> = {}) => ({ runId: 'r', status: 'succeeded', createdAt: T, ...o });

  it('logical time: the fire time of a schedule or backfill run, else its creation time', () => {
    expect(logicalTime({ createdAt: T + 5000, trigger: { type: 'schedule', fireTime: '2026-12-03T02:00:00.000Z' } })).toBe(T);
    expect(logicalTime({ createdAt: T + 9 * D, trigger: { type: 'backfill', fireTime: '2026-12-03T02:00:00.000Z' } })).toBe(T);
    expect(logicalTime({ createdAt: T, trigger: { type: 'api' } })).toBe(T);
    expect(logicalTime({ createdAt: T, trigger: { type: 'schedule', fireTime: 'garbage' } })).toBe(T);
  });

  it('the window is relative to the waiting run, both ends included', () => {
    const c = criteriaFor({ workflow: 'up', window: { fromMs: -D, toMs: 0 }, statuses: ['succeeded'] }, T);
    expect(c.window).toEqual({ from: T - D, to: T });
    expect(inWindow(c, { createdAt: T - D })).toBe(true);
    expect(inWindow(c, { createdAt: T })).toBe(true);
    expect(inWindow(c, { createdAt: T - D - 1 })).toBe(false);
    expect(inWindow(c, { createdAt: T + 1 })).toBe(false);
    // Yesterday's scheduled run, created late (a misfire): its fire time decides, not its creation.
    expect(inWindow(c, { createdAt: T + H, trigger: { fireTime: new Date(T - H).toISOString() } })).toBe(true);
    expect(inWindow(criteriaFor({ workflow: 'up', params: {}, statuses: ['succeeded'] }, T), { createdAt: 0 })).toBe(true);
  });

  it('params: every named one equal (deeply, by type), the others free', () => {
    expect(paramsMatch({ day: '2026-12-02' }, { day: '2026-12-02', region: 'eu' })).toBe(true);
    expect(paramsMatch({ day: '2026-12-02' }, { day: '2026-12-01' })).toBe(false);
    expect(paramsMatch({ n: 1 }, { n: '1' })).toBe(false);
    expect(paramsMatch({ o: { a: [1, 2] } }, { o: { a: [1, 2] } })).toBe(true);
    expect(paramsMatch({ missing: undefined }, {})).toBe(false);
    expect(paramsMatch({ day: 'x' }, undefined)).toBe(false);
    expect(paramsMatch(undefined, undefined)).toBe(true);
  });

  it('status must be one of those wanted', () => {
    const c = criteriaFor({ workflow: 'up', params: { day: 'd' }, statuses: ['failed', 'cancelled'] }, T);
    expect(runMatches(c, run({ status: 'failed', params: { day: 'd' } }))).toBe(true);
    expect(runMatches(c, run({ status: 'cancelled', params: { day: 'd' } }))).toBe(true);
    expect(runMatches(c, run({ status: 'succeeded', params: { day: 'd' } }))).toBe(false);
    expect(runMatches(c, run({ status: 'running', params: { day: 'd' } }))).toBe(false);
    expect(runMatches(c, run({ status: 'failed', params: { day: 'e' } }))).toBe(false);
  });
});
