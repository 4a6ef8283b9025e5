/** The task graph of a definition: successors, roots, sinks, a topological order, ancestors, cycles. */
import { DEFAULT_TRIGGER } from '../flow/join-rule.js';
import type { WorkflowDefinition } from './types.js';

/** A definition's graph, computed once. All lists follow the definition's task order. */
export interface CompiledWorkflow {
  readonly definition: WorkflowDefinition;
  /** For each task, the tasks that list it in `after`. */
  readonly successors: Readonly<Record<string, readonly string[]>>;
  /** Tasks with no dependencies. */
  readonly roots: readonly string[];
  /** Tasks nothing depends on. */
  readonly sinks: readonly string[];
  /** Every task, each after all of its dependencies. */
  readonly order: readonly string[];
  /** Every task that `task` transitively depends on (memoised per task). */
  ancestors(task: string): ReadonlySet<string>;
  /**
   * Tasks that no other task of a run can run beside: every other task is an ancestor (ended before it
   * started: it and all of its ancestors wait for every dependency, the default join rule) or a
   * descendant (not started before it ends). Nothing but the task itself can fail while it runs. May
   * leave out such a task that a redundant edge jumps over (`aloneIn`).
   */
  readonly alone: ReadonlySet<string>;
}

type Deps = Readonly<Record<string, { readonly after: readonly string[] }>>;

/**
 * Finds cycles in a dependency graph (`after` lists name the tasks that come first). Dependencies on
 * unknown tasks are ignored. Each cycle is reported once, as the tasks in execution order starting from
 * the one declared first, without repeating it at the end: `a.after=[c], b.after=[a], c.after=[b]`
 * gives `[['a','b','c']]`. One cycle is found per dependency that closes one during a depth-first walk;
 * stops after `limit` cycles. Iterative, so long chains do not exhaust the stack.
 */
export function findCycles(tasks: Deps, limit = Number.POSITIVE_INFINITY): string[][] {
  const names = Object.keys(tasks);
  const rank = new Map(names.map((n, i) => [n, i]));
  const state = new Map<string, number>(); // index on the stack while on it, -1 once done
  const cycles: string[][] = [];
  const seen = new Set<string>();

  for (const start of names) {
    if (cycles.length >= limit) break;
    if (state.has(start)) continue;
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    state.set(start, 0);
    while (stack.length > 0 && cycles.length < limit) {
      const top = stack[stack.length - 1] as { name: string; next: number };
      const deps = tasks[top.name]?.after ?? [];
      if (top.next >= deps.length) {
        state.set(top.name, -1);
        stack.pop();
        continue;
      }
      const dep = deps[top.next++] as string;
      if (!rank.has(dep)) continue;
      const s = state.get(dep);
      if (s === undefined) {
        state.set(dep, stack.length);
        stack.push({ name: dep, next: 0 });
      } else if (s >= 0) {
        // Stack from `dep` down to `top` walks against execution order; reverse it.
        const cycle = stack
          .slice(s)
          .map((f) => f.name)
          .reverse();
        let first = 0;
        cycle.forEach((n, i) => {
          if ((rank.get(n) as number) < (rank.get(cycle[first] as string) as number)) first = i;
        });
        const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
        const key = rotated.join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(rotated);
        }
      }
    }
  }
  return cycles;
}

/**
 * Compiles a (validated) definition's graph. Linear in the size of the graph, except `ancestors`, which
 * costs one upward walk per task asked about.
 *
 * @throws Error if the graph has a cycle or a dependency on an unknown task.
 */
export function compile(def: WorkflowDefinition): CompiledWorkflow {
  const names = Object.keys(def.tasks);
  const successors: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
  const pending = new Map<string, number>();
  for (const name of names) {
    const after = (def.tasks[name] as { after: readonly string[] }).after;
    const unique = new Set(after);
    for (const dep of unique) {
      const list = Object.hasOwn(successors, dep) ? successors[dep] : undefined;
      if (!list) throw new Error(`task "${name}" depends on unknown task "${dep}"`);
      list.push(name);
    }
    pending.set(name, unique.size);
  }

  const roots = names.filter((n) => pending.get(n) === 0);
  const sinks = names.filter((n) => (successors[n] as string[]).length === 0);
  const order: string[] = [...roots];
  for (let i = 0; i < order.length; i++) {
    for (const next of successors[order[i] as string] as string[]) {
      const left = (pending.get(next) as number) - 1;
      pending.set(next, left);
      if (left === 0) order.push(next);
    }
  }
  if (order.length !== names.length) {
    const cycle = findCycles(def.tasks)[0] ?? [];
    throw new Error(`cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
  }

  const memo = new Map<string, ReadonlySet<string>>();
  const ancestors = (task: string): ReadonlySet<string> => {
    const cached = memo.get(task);
    if (cached) return cached;
    if (!Object.hasOwn(def.tasks, task)) throw new Error(`unknown task "${task}"`);
    const found = upstreamOf(task, (t) => def.tasks[t]?.after, memo);
    memo.set(task, found);
    return found;
  };

  return { definition: def, successors, roots, sinks, order, ancestors, alone: aloneIn(def, order, successors, roots.length) };
}

/**
 * The tasks of `alone`, in one pass over the topological order. A task T at position p is kept when no
 * edge jumps over p (from before p to after it), no task before p is a sink and none after p is a root:
 * then each task before p has a successor, which is before p or is T, so following successors reaches T;
 * and each task after p reaches back to T the same way. The converse fails only for an edge that jumps
 * over T from an ancestor straight to a descendant (a redundant edge: a path through T joins the two
 * already); such a T is left out, which costs its success one run read, never a wrong decision.
 * (Roots come first in `order`, so "no root after p" is p >= roots - 1.)
 */
function aloneIn(def: WorkflowDefinition, order: readonly string[], successors: Record<string, string[]>, roots: number) {
  const pos = new Map(order.map((n, i) => [n, i]));
  const jumps = new Array<number>(order.length + 1).fill(0);
  for (const u of order) {
    const from = pos.get(u) as number;
    for (const v of successors[u] as string[]) {
      const to = pos.get(v) as number;
      if (to - from < 2) continue;
      jumps[from + 1] = (jumps[from + 1] as number) + 1;
      jumps[to] = (jumps[to] as number) - 1;
    }
  }
  const alone = new Set<string>();
  let over = 0;
  let sinkBefore = false;
  let allWait = true;
  order.forEach((n, i) => {
    over += jumps[i] as number;
    allWait &&= (def.tasks[n]?.trigger ?? DEFAULT_TRIGGER) === DEFAULT_TRIGGER;
    if (over === 0 && !sinkBefore && i >= roots - 1 && allWait) alone.add(n);
    if ((successors[n] as string[]).length === 0) sinkBefore = true;
  });
  return alone;
}

/**
 * Every task that `task` depends on, directly or through others. `after` gives a task's direct
 * dependencies (undefined for an unknown one). Terminates on cycles, so validation can use it on a
 * draft; `memo` (ancestor sets already known) saves walking shared upstream twice.
 */
export function upstreamOf(
  task: string,
  after: (task: string) => readonly string[] | undefined,
  memo?: ReadonlyMap<string, ReadonlySet<string>>,
): Set<string> {
  const found = new Set<string>();
  const todo = [task];
  while (todo.length > 0) {
    for (const dep of after(todo.pop() as string) ?? []) {
      if (found.has(dep)) continue;
      found.add(dep);
      const known = memo?.get(dep);
      if (known) for (const a of known) found.add(a);
      else todo.push(dep);
    }
  }
  return found;
}
