import { describe, expect, it } from 'vitest';
import { type ParseOptions, parseDefinition, render, type ValidationIssue } from '../../functions/engine/definition/index.js';
import { itemsProblem, MAX_MAP_ITEMS, mapConfigOf } from '../../functions/engine/definition/map.js';
import { executors } from './fixtures.js';

const opts: ParseOptions = { executors };

function def(map: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { name: 'wf', tasks: { list: { type: 'noop', output: [1] }, each: { type: 'map', after: 'list', ...map }, ...extra } };
}

function errors(body: unknown): ValidationIssue[] {
  const r = parseDefinition(body, opts);
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

const has = (es: ValidationIssue[], path: string, message: RegExp) =>
  expect(
    es.some((e) => e.path === path && message.test(e.message)),
    `${path} ${message} in ${JSON.stringify(es)}`,
  ).toBe(true);

describe('type map: validation at PUT', () => {
  it('normalises a map: defaults for concurrency and tolerated, the item task as a task spec', () => {
    const r = parseDefinition(
      def({
        items: '${tasks.list.output}',
        task: { type: 'http', url: 'https://x.example/${item}', retry: { attempts: 3 }, timeout: '5s' },
      }),
      opts,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(mapConfigOf(r.value.tasks.each)).toEqual({
      items: '${tasks.list.output}',
      concurrency: 10,
      tolerated: 0,
      task: {
        type: 'http',
        after: [],
        retry: { attempts: 3, delayMs: 1000, backoff: 'fixed', maxDelayMs: 3_600_000 },
        timeoutMs: 5000,
        config: { url: 'https://x.example/${item}' },
      },
    });
    expect(mapConfigOf(r.value.tasks.list)).toBeUndefined();
  });

  it('reports each bad field with its path', () => {
    const es = errors(
      def({
        items: 'no template',
        concurrency: 0,
        failure: { tolerated: -1 },
        task: { type: 'http', url: 5, after: ['list'], when: 'true' },
      }),
    );
    has(es, 'tasks.each.items', /a template such as/);
    has(es, 'tasks.each.concurrency', /at least 1/);
    has(es, 'tasks.each.failure.tolerated', /at least 0/);
    has(es, 'tasks.each.task.after', /not allowed in a map's task/);
    has(es, 'tasks.each.task.when', /not allowed in a map's task/);
    has(es, 'tasks.each.task.url', /./);
    has(errors(def({ items: [1], concurrency: 101, task: { type: 'noop' } })), 'tasks.each.concurrency', /at most 100/);
    has(errors(def({ items: [1], task: { type: 'map' } })), 'tasks.each.task.type', /cannot run a map/);
    has(errors(def({ items: [1], task: { type: 'nope' } })), 'tasks.each.task.type', /unknown task type/);
    has(errors(def({ items: [1], task: { output: 1 } })), 'tasks.each.task.type', /required/);
    has(errors(def({ items: [1], task: { type: 'noop' }, extra: 1 })), 'tasks.each.extra', /unknown field/);
    has(errors(def({ items: [1] })), 'tasks.each.task', /expected|required/i);
    has(errors(def({ items: Array.from({ length: MAX_MAP_ITEMS + 1 }, () => 0), task: { type: 'noop' } })), 'tasks.each.items', /at most/);
  });

  it("${item} and ${index} only inside a map's task; the item task may use upstream outputs of the map only", () => {
    has(
      errors(def({ items: [1], task: { type: 'noop' } }, { other: { type: 'noop', output: '${item}' } })),
      'tasks.other.output',
      /only a map's task/,
    );
    has(errors(def({ items: '${item}', task: { type: 'noop' } })), 'tasks.each.items', /only a map's task/);
    has(
      errors(def({ items: [1], task: { type: 'noop', output: '${tasks.late.output}' } }, { late: { type: 'noop' } })),
      'tasks.each.task.output',
      /not upstream/,
    );
    has(errors(def({ items: [1], task: { type: 'noop', output: '${index.x}' } })), 'tasks.each.task.output', /expected \$\{index\}/);
    const ok = parseDefinition(
      def({ items: [1], task: { type: 'noop', output: { v: '${item.a[0]}', i: '${index}', up: '${tasks.list.output}' } } }),
      opts,
    );
    expect(ok.ok).toBe(true);
  });
});

describe('item templates', () => {
  const scope = { params: {}, tasks: {}, run: { id: 'r', workflow: 'w' }, task: { name: 'm@1[2]', attempt: 1 } };

  it('renders ${item}, a path into it, and ${index}; a whole-string template keeps the type', () => {
    const item = { value: { name: 'a.csv', size: 3, tags: ['x'] }, index: 2 };
    expect(
      render(
        { f: '${item.name}', s: '${item.size}', t: '${item.tags[0]}', all: '${item}', at: 'n${index}', i: '${index}' },
        { ...scope, item },
      ),
    ).toEqual({
      f: 'a.csv',
      s: 3,
      t: 'x',
      all: item.value,
      at: 'n2',
      i: 2,
    });
  });

  it('fails with a named path when the item lacks it, and outside a map', () => {
    expect(() => render('${item.nope}', { ...scope, item: { value: { a: 1 }, index: 0 } })).toThrow(/item has no "nope"/);
    expect(() => render('${item}', scope)).toThrow(/only a map's task has an item/);
    expect(() => render('${index}', scope)).toThrow(/only a map's task has an item/);
  });

  it("an item's ${secrets...} text stays literal (items are data from outside, like outputs)", () => {
    expect(render('${item}', { ...scope, item: { value: '${secrets.KEY}', index: 0 }, secret: () => 'LEAK' })).toBe('${secrets.KEY}');
  });

  it('itemsProblem: an array within the limit, or why not', () => {
    expect(itemsProblem([1, 2])).toBeUndefined();
    expect(itemsProblem('x')).toBe('items must be an array, got string');
    expect(itemsProblem({ a: 1 })).toMatch(/got object/);
    expect(itemsProblem(new Array(MAX_MAP_ITEMS + 1).fill(0))).toMatch(/at most 10000/);
  });
});
