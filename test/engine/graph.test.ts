import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, findCycles, NO_RETRY, type TaskSpec, type WorkflowDefinition } from '../../functions/engine/definition/index.js';

function def(tasks: Record<string, string[]>): WorkflowDefinition {
  const specs: Record<string, TaskSpec> = {};
  for (const [name, after] of Object.entries(tasks)) specs[name] = { type: 'noop', after, retry: NO_RETRY, config: {} };
  return { name: 'g', params: {}, failureStrategy: 'end', tasks: specs };
}

/** `alone` by its definition: every other task an ancestor or a descendant, and none waiting on only some dependencies. */
function aloneByDefinition(d: WorkflowDefinition): string[] {
  const g = compile(d);
  const names = Object.keys(d.tasks);
  return names.filter((t) => {
    const up = g.ancestors(t);
    const related = names.every((u) => u === t || up.has(u) || g.ancestors(u).has(t));
    return related && [t, ...up].every((u) => (d.tasks[u]?.trigger ?? 'all_succeeded') === 'all_succeeded');
  });
}

describe('compile', () => {
  it('finds the tasks nothing can run beside (a success of one needs no fresh look for failures elsewhere)', () => {
    expect([...compile(def({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'] })).alone]).toEqual(['a', 'd', 'e']);
    expect([...compile(def({ a: [], b: ['a'], c: ['b'] })).alone]).toEqual(['a', 'b', 'c']);
    expect([...compile(def({ a: [], b: [] })).alone]).toEqual([]);
    // A redundant edge over b (a -> c beside a -> b -> c) leaves b out: a run read more, never a wrong skip.
    expect([...compile(def({ a: [], b: ['a'], c: ['a', 'b'] })).alone]).toEqual(['a', 'c']);
    expect([...compile(def({ a: [], b: ['a'], c: ['a'], d: ['b'] })).alone]).toEqual(['a']);
    const oneOf = def({ a: [], b: ['a'], c: ['b'] });
    const c = oneOf.tasks.b as TaskSpec;
    const lax = { ...oneOf, tasks: { ...oneOf.tasks, b: { ...c, trigger: 'one_succeeded' as const } } };
    expect([...compile(lax).alone]).toEqual(['a']);
  });

  it('alone never holds a task another can run beside, and is exact on graphs with no redundant edge', () => {
    const graph = fc
      .integer({ min: 1, max: 9 })
      .chain((n) =>
        fc.tuple(
          fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
          fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        ),
      );
    fc.assert(
      fc.property(graph, ([edges, lax]) => {
        // Task i may depend on any task j < i (a DAG in this order); declared in a shuffled order.
        const names = edges.map((_, i) => `t${i}`);
        const tasks: Record<string, TaskSpec> = {};
        for (const i of [...names.keys()].sort((x, y) => ((x * 7) % names.length) - ((y * 7) % names.length))) {
          const after = names.filter((_, j) => j < i && edges[i]?.[j]);
          tasks[`t${i}`] = {
            type: 'noop',
            after,
            retry: NO_RETRY,
            config: {},
            ...(lax[i] && after.length > 1 && { trigger: 'all_done' as const }),
          };
        }
        const d: WorkflowDefinition = { name: 'g', params: {}, failureStrategy: 'end', tasks };
        const g = compile(d);
        const exact = aloneByDefinition(d);
        for (const t of g.alone) expect(exact).toContain(t);
        // Redundant: an edge j -> i where another dependency of i has j upstream.
        const redundant = Object.entries(tasks).some(([, s]) => s.after.some((j) => s.after.some((k) => k !== j && g.ancestors(k).has(j))));
        if (!redundant) expect([...g.alone].sort()).toEqual(exact.sort());
      }),
      { numRuns: 500 },
    );
  });

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
