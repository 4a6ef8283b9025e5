/** Benchmark workflows: every task is a `noop`, so what is measured is the scheduler alone. */

const name = (i: number) => `t${String(i).padStart(4, '0')}`;

/** t0000 → t0001 → … : `n` tasks, each after the previous one. */
export function chain(wf: string, n: number) {
  const tasks: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) tasks[name(i)] = i === 0 ? { type: 'noop' } : { type: 'noop', after: [name(i - 1)] };
  return { name: wf, tasks };
}

/** One root, `n - 2` tasks in parallel after it, one join after all of them: `n` tasks in all. */
export function fan(wf: string, n: number) {
  if (n < 3) throw new Error('a fan-out/fan-in needs at least 3 tasks');
  const tasks: Record<string, unknown> = { root: { type: 'noop' } };
  const mid: string[] = [];
  for (let i = 0; i < n - 2; i++) {
    tasks[name(i)] = { type: 'noop', after: ['root'] };
    mid.push(name(i));
  }
  tasks.join = { type: 'noop', after: mid };
  return { name: wf, tasks };
}

/** One `map` over `n` items (concurrency 10) whose item task is a noop: the cost of a map item alone. */
export function mapOf(wf: string, n: number) {
  const items = Array.from({ length: n }, (_, i) => i);
  return { name: wf, tasks: { each: { type: 'map', items, concurrency: 10, task: { type: 'noop', output: '${item}' } } } };
}

/** One `http` task that calls `url` (the failover bench points it at a server that holds the first call open). */
export function httpOne(wf: string, url: string) {
  return { name: wf, tasks: { call: { type: 'http', url, requestTimeout: '120s' } } };
}
