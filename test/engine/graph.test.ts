import { describe, expect, it } from 'vitest';
import { compile, findCycles, NO_RETRY, type TaskSpec, type WorkflowDefinition } from '../../functions/engine/definition/index.js';

function def(tasks: Record<string, string[]>): WorkflowDefinition {
  const specs: Record<string, TaskSpec> = {};
  for (const [name, after] of Object.entries(tasks)) specs[name] = { type: 'noop', after, retry: NO_RETRY, config: {} };
  return { name: 'g', params: {}, failureStrategy: 'end', tasks: specs };
}

describe('compile', () => {
  it('computes successors, roots, sinks, order and ancestors', () => {
    const g = compile(def({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: [] }));
    expect(g.successors).toEqual({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [], e: [] });
    expect(g.roots).toEqual(['a', 'e']);
    expect(g.sinks).toEqual(['d', 'e']);
    expect(g.order).toEqual(['a', 'e', 'b', 'c', 'd']);
    expect([...g.ancestors('d')].sort()).toEqual(['a', 'b', 'c']);
    expect(g.ancestors('d')).toBe(g.ancestors('d'));
    expect(g.ancestors('a').size).toBe(0);
    expect(() => g.ancestors('zz')).toThrow(/unknown task/);
  });

  it('throws on cycles and unknown dependencies', () => {
    expect(() => compile(def({ a: ['b'], b: ['a'] }))).toThrow('cycle: a -> b -> a');
    expect(() => compile(def({ a: ['zz'] }))).toThrow(/unknown task "zz"/);
  });

  it('handles a 2000-task chain and 2000 parallel tasks iteratively (no recursion that a long chain overflows)', () => {
    const n = 2000;
    const chain = def(Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, i === 0 ? [] : [`t${i - 1}`]])));
    const wide = def(Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, []])));
    const c = compile(chain);
    expect(c.order).toEqual(Object.keys(chain.tasks));
    expect(c.roots).toEqual(['t0']);
    expect(c.sinks).toEqual([`t${n - 1}`]);
    expect(c.ancestors(`t${n - 1}`).size).toBe(n - 1);
    for (let i = n - 1; i >= 0; i -= 100) expect(c.ancestors(`t${i}`).size).toBe(i);
    const w = compile(wide);
    expect(w.roots).toHaveLength(n);
    expect(w.sinks).toHaveLength(n);
    expect(findCycles(chain.tasks)).toEqual([]);
    const looped = { ...chain.tasks, t0: { after: [`t${n - 1}`] } };
    expect(findCycles(looped)[0]).toHaveLength(n);
  });
});

describe('findCycles', () => {
  it('finds self loops and separate cycles once each, ignoring unknown tasks', () => {
    expect(findCycles({ a: { after: ['a'] } })).toEqual([['a']]);
    expect(
      findCycles({
        a: { after: ['c', 'ghost'] },
        b: { after: ['a'] },
        c: { after: ['b'] },
        d: { after: ['e'] },
        e: { after: ['d'] },
        f: { after: ['a', 'd'] },
      }),
    ).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });
});
