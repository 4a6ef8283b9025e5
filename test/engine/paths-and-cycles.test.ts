import { describe, expect, it } from 'vitest';
import { findCycles } from '../../functions/engine/definition/graph.js';
import { matchesType, typeName } from '../../functions/engine/definition/params.js';
import { formatPath, joinPath } from '../../functions/engine/definition/path.js';

/** Small contracts of the engine that the validation tests reach only indirectly (found by `npm run mutate:engine`). */

describe('paths in error messages', () => {
  it('formats keys, indexes and quoted keys', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['tasks', 'a-b_1', 'after', 0])).toBe('tasks.a-b_1.after[0]');
    expect(formatPath([3, 'x'])).toBe('[3].x');
    expect(formatPath(['tasks', 'x y', '9lives'])).toBe('tasks["x y"]["9lives"]');
  });

  it('joins a prefix and more segments', () => {
    expect(joinPath('', ['a'])).toBe('a');
    expect(joinPath('tasks.x', [])).toBe('tasks.x');
    expect(joinPath('tasks.x', ['after', 1])).toBe('tasks.x.after[1]');
    expect(joinPath('tasks.x', [2, 'y'])).toBe('tasks.x[2].y');
  });
});

describe('param types', () => {
  it('names JSON types the way messages show them', () => {
    expect([null, [], 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, 's', true, {}].map(typeName)).toEqual([
      'null',
      'array',
      'integer',
      'number',
      'NaN',
      'Infinity',
      'number',
      'string',
      'boolean',
      'object',
    ]);
  });

  it('integers are numbers; NaN and infinities are neither', () => {
    expect(matchesType('number', 3)).toBe(true);
    expect(matchesType('number', Number.NaN)).toBe(false);
    expect(matchesType('number', '3')).toBe(false);
    expect(matchesType('integer', 3)).toBe(true);
    expect(matchesType('integer', 3.5)).toBe(false);
    expect(matchesType('integer', '3')).toBe(false);
    expect(matchesType('string', 3)).toBe(false);
    expect(matchesType('boolean', 0)).toBe(false);
    expect(matchesType('object', [])).toBe(false);
    expect(matchesType('object', null)).toBe(false);
    expect(matchesType('array', {})).toBe(false);
  });
});

describe('cycles', () => {
  const graph = { a: { after: ['c'] }, b: { after: ['a'] }, c: { after: ['b'] }, d: { after: ['e'] }, e: { after: ['d', 'zz'] } };

  it('reports each cycle once, in execution order from the task declared first; unknown tasks are ignored', () => {
    expect(findCycles(graph)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    expect(findCycles({ x: { after: ['y'] }, y: { after: [] } })).toEqual([]);
  });

  it('stops after `limit` cycles', () => {
    expect(findCycles(graph, 1)).toEqual([['a', 'b', 'c']]);
    expect(findCycles(graph, 2)).toHaveLength(2);
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, { after: [`t${i}`] }]));
    expect(findCycles(many, 3)).toHaveLength(3);
  });
});
