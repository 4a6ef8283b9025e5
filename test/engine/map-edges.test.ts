import { describe, expect, it } from 'vitest';
import { type ParseOptions, parseDefinition, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { itemsProblem, MAX_MAP_ITEMS, mapConfigOf } from '../../functions/engine/definition/map.js';
import { executors } from './fixtures.js';

/** A map's stored config compared exactly, and each of its fields' messages at its edge. */
const opts: ParseOptions = { executors };
const NO_RETRY = { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 };

function def(map: Record<string, unknown>) {
  return { name: 'wf', tasks: { list: { type: 'noop' }, each: { type: 'map', after: 'list', ...map } } };
}

function mapOf(map: Record<string, unknown>) {
  const r = parseDefinition(def(map), opts);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return mapConfigOf(r.value.tasks.each);
}

function errorsOf(map: Record<string, unknown>, o: Partial<ParseOptions> = {}): ValidationIssue[] {
  const r = parseDefinition(def(map), { ...opts, ...o });
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

describe('type map: the stored config, exactly', () => {
  it('keeps concurrency and tolerated as given; the item task has no timeout unless given, and only its own fields as config', () => {
    expect(mapOf({ items: [1, 2], concurrency: 100, failure: { tolerated: 0 }, task: { type: 'noop', output: '${item}' } })).toStrictEqual({
      items: [1, 2],
      concurrency: 100,
      tolerated: 0,
      task: { type: 'noop', after: [], retry: NO_RETRY, config: { output: '${item}' } },
    });
    expect(mapOf({ items: [], concurrency: 1, failure: { tolerated: 3 }, task: { type: 'noop', retry: null, timeout: 2 } })).toStrictEqual({
      items: [],
      concurrency: 1,
      tolerated: 3,
      task: { type: 'noop', after: [], retry: NO_RETRY, timeoutMs: 2000, config: {} },
    });
  });

  it(`exactly ${MAX_MAP_ITEMS} literal items are accepted, one more is not`, () => {
    expect(mapOf({ items: new Array(MAX_MAP_ITEMS).fill(0), task: { type: 'noop' } })?.items).toHaveLength(MAX_MAP_ITEMS);
    expect(errorsOf({ items: new Array(MAX_MAP_ITEMS + 1).fill(0), task: { type: 'noop' } })).toStrictEqual([
      { path: 'tasks.each.items', message: `at most ${MAX_MAP_ITEMS} items` },
    ]);
    expect(itemsProblem(new Array(MAX_MAP_ITEMS).fill(0))).toBeUndefined();
    expect(itemsProblem(new Array(MAX_MAP_ITEMS + 1).fill(0))).toBe(
      `items has ${MAX_MAP_ITEMS + 1} entries; a map takes at most ${MAX_MAP_ITEMS}`,
    );
    expect(itemsProblem(null)).toBe('items must be an array, got null');
  });

  it('mapConfigOf: only a map task has one', () => {
    expect(mapConfigOf(undefined)).toBeUndefined();
  });
});

describe("type map: the item task's messages", () => {
  it('names each engine field an item task may not have', () => {
    expect(errorsOf({ items: [1], task: { type: 'noop', trigger: 'all_done' } })).toStrictEqual([
      { path: 'tasks.each.task.trigger', message: "not allowed in a map's task (set it on the map)" },
    ]);
  });

  it('its type: required, a string, known, not a map', () => {
    expect(errorsOf({ items: [1], task: {} })).toStrictEqual([{ path: 'tasks.each.task.type', message: 'required' }]);
    expect(errorsOf({ items: [1], task: { type: 3 } })).toStrictEqual([
      { path: 'tasks.each.task.type', message: 'expected a string, got integer' },
    ]);
    expect(errorsOf({ items: [1], task: { type: 'toString' } })).toStrictEqual([
      { path: 'tasks.each.task.type', message: 'unknown task type "toString"' },
    ]);
    expect(errorsOf({ items: [1], task: { type: 'map' } })).toStrictEqual([
      { path: 'tasks.each.task.type', message: 'a map cannot run a map (nest a subworkflow instead)' },
    ]);
  });

  it("its fields are checked with its type's schema, at the item task's path; a schema that throws is reported", () => {
    expect(errorsOf({ items: [1], task: { type: 'wait' } })).toStrictEqual([
      { path: 'tasks.each.task.duration', message: expect.stringMatching(/./) },
    ]);
    const boom = {
      schema: {
        safeParse: () => {
          throw new Error('kaput');
        },
      } as never,
    };
    expect(errorsOf({ items: [1], task: { type: 'boom' } }, { executors: { ...executors, boom } })).toStrictEqual([
      { path: 'tasks.each.task', message: 'could not check the boom fields: kaput' },
    ]);
  });

  it('its retry and timeout are checked at their own paths', () => {
    expect(errorsOf({ items: [1], task: { type: 'noop', retry: { attempts: 0 }, timeout: 0 } })).toStrictEqual([
      { path: 'tasks.each.task.timeout', message: 'must be more than 0' },
      { path: 'tasks.each.task.retry.attempts', message: 'must be at least 1' },
    ]);
  });

  it("the item task is checked even when the map's own fields are wrong", () => {
    expect(errorsOf({ items: 5, task: { type: 'nope' } })).toStrictEqual([
      // zod reports each branch of the union here (the schema's own union message is not what a user sees).
      { path: 'tasks.each.items', message: expect.stringContaining('expected array, received number') },
      { path: 'tasks.each.task.type', message: 'unknown task type "nope"' },
    ]);
  });
});
