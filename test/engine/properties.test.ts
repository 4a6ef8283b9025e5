import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, parseDefinition } from '../../functions/engine/definition/index.js';
import { executors } from './fixtures.js';

/** Random DAGs: task i may only depend on tasks before it. Each task also uses the output of one of its deps. */
const dag = fc
  .integer({ min: 1, max: 40 })
  .chain((n) =>
    fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        i === 0 ? fc.constant<number[]>([]) : fc.uniqueArray(fc.nat(i - 1), { maxLength: Math.min(i, 4) }),
      ),
    ),
  )
  .map((deps) => deps.map((d) => d.map((j) => `t${j}`)));

function definition(deps: string[][]): { name: string; tasks: Record<string, Record<string, unknown>> } {
  const tasks: Record<string, Record<string, unknown>> = {};
  // Declare in a shuffled-but-deterministic order so that order does not follow the numbering.
  const names = deps.map((_, i) => i).sort((a, b) => ((a * 7919) % 31) - ((b * 7919) % 31) || a - b);
  for (const i of names) {
    const after = deps[i] as string[];
    tasks[`t${i}`] = { type: 'noop', after, ...(after[0] && { output: `\${tasks.${after[0]}.output}` }) };
  }
  return { name: 'random', tasks };
}

describe('properties', () => {
  it('(a) random DAGs validate and compile to an order that respects every edge', () => {
    fc.assert(
      fc.property(dag, (deps) => {
        const r = parseDefinition(definition(deps), { executors });
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        const g = compile(r.value);
        const pos = new Map(g.order.map((t, i) => [t, i]));
        expect(pos.size).toBe(deps.length);
        deps.forEach((after, i) => {
          for (const d of after) expect(pos.get(d)).toBeLessThan(pos.get(`t${i}`) as number);
        });
        const names = deps.map((_, i) => `t${i}`);
        expect(new Set(g.roots)).toEqual(new Set(names.filter((_, i) => (deps[i] as string[]).length === 0)));
        const depended = new Set(deps.flat());
        expect(new Set(g.sinks)).toEqual(new Set(names.filter((n) => !depended.has(n))));
        for (const [t, succ] of Object.entries(g.successors)) for (const s of succ) expect(r.value.tasks[s]?.after).toContain(t);
      }),
      { numRuns: 200 },
    );
  });

  it('(b) adding an edge that closes a path always yields a cycle error', () => {
    // Pick a task and one of its ancestors (walking a random path up), then make the ancestor depend on it.
    const withBackEdge = dag
      .filter((deps) => deps.some((d) => d.length > 0))
      .chain((deps) => {
        const withDeps = deps.map((d, i) => [d, i] as const).filter(([d]) => d.length > 0);
        return fc.tuple(fc.constant(deps), fc.constantFrom(...withDeps.map(([, i]) => i)), fc.infiniteStream(fc.nat()));
      });
    fc.assert(
      fc.property(withBackEdge, ([deps, start, choices]) => {
        let at = start;
        const it = choices[Symbol.iterator]();
        const steps = (it.next().value as number) % 5;
        for (let s = 0; s <= steps; s++) {
          const up = deps[at] as string[];
          if (up.length === 0) break;
          at = Number((up[(it.next().value as number) % up.length] as string).slice(1));
        }
        const def = definition(deps);
        const ancestor = def.tasks[`t${at}`] as { after: string[] };
        ancestor.after = [...ancestor.after, `t${start}`];
        const r = parseDefinition(def, { executors });
        expect(r.ok).toBe(false);
        if (r.ok) return;
        const cycles = r.errors.filter((e) => e.message.startsWith('cycle: '));
        expect(cycles.length).toBeGreaterThan(0);
        expect(cycles.some((e) => e.message.includes(`t${start}`) && e.message.includes(`t${at}`))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
