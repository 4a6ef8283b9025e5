import type { TaskSpec } from '../engine/definition/types.js';
import { DEFAULT_TRIGGER, decideJoin, type JoinDecision, type Outcome } from '../engine/flow/join-rule.js';
import { type RunItem, type TaskError, type TaskItem, TERMINAL_TASK } from '../store/items.js';
import { countDep, runTasks } from '../store/tasks.js';
import type { Deps } from './deps.js';
import { type LoadedWorkflow, loadWorkflow } from './workflows.js';

/**
 * Wide joins count their dependencies instead of naming them.
 *
 * A join over a few tasks records each dependency's name and outcome in sets on its own item (an
 * idempotent add, see `store/tasks.ts recordDep`). Over many, those sets make the item, and so every
 * write to it, grow with the join's width: a 1,000-wide join cost about 5 WRU per dependency instead of
 * 1. A join over more than `COUNTED_JOIN_FROM` tasks instead keeps a count (`depCount`, a plain `ADD`
 * on a small item, 1 WRU whatever the width) and, once the count reaches its width, reads its
 * dependencies (one query of the run's task items) and decides from what they are, not from what
 * it was told.
 *
 * Why that is safe without a per-dependency marker: the count is a hint, never the decision. A stream
 * record delivered twice counts twice, which can only make the join look at its dependencies early;
 * it then finds one not ended and waits for the next count. The decision itself is a conditional
 * `blocked →` transition, so two deciders decide once. A count can also fall short only if an
 * ending's count was never made; the run watchdog (`reconcile.ts`) finds a blocked counted join whose
 * dependencies have all ended and decides it from the items.
 *
 * Who counts: the master, for the stream record of each dependency's ending (`countJoins`), and the
 * watchdog. The worker's inline advance and the skip walk inside one advance leave counted joins to
 * those records, so that one ending counts once in the normal case (no wasted writes).
 */
export const COUNTED_JOIN_FROM = 16;

/** Whether the task is a counted join (more than `COUNTED_JOIN_FROM` dependencies). */
export const isCounted = (spec: TaskSpec | undefined): boolean => (spec?.after.length ?? 0) > COUNTED_JOIN_FROM;

/** How a terminal task ended, as its successors' join rules see it. Derived from the item alone, so every delivery agrees. */
export function outcomeOf(t: Pick<TaskItem, 'status' | 'upstreamFailed'>): Outcome {
  if (t.status === 'succeeded') return 'succeeded';
  return t.status === 'failed' || t.upstreamFailed ? 'failed' : 'skipped';
}

/**
 * Counts one ended dependency of the counted join `name` and decides it once the count reaches its
 * width (or at once when `verify`: the watchdog found every dependency ended). `counted`: the item as
 * this ending's count already left it (`countBeforeRun`), so it is not counted twice. `ending`: the run is
 * ending (failureStrategy end), so under the default rule it does not run. Undefined: keep waiting, or
 * the task is no longer blocked.
 */
export async function countedReadiness(
  deps: Deps,
  run: RunItem,
  name: string,
  spec: TaskSpec,
  ending: TaskError | undefined,
  verify: boolean,
  counted?: TaskItem,
): Promise<{ decision: JoinDecision; error?: TaskError } | undefined> {
  const t = counted ?? (await countTogether(deps, run.runId, name));
  if (t?.status !== 'blocked') return undefined;
  if ((t.depCount ?? 0) < spec.after.length && !verify) return undefined;
  const items = new Map((await runTasks(deps.db, run.runId)).map((i) => [i.name, i]));
  const ended = spec.after.map((d) => {
    const u = items.get(d);
    return u && TERMINAL_TASK.has(u.status) ? u : undefined;
  });
  const rule = spec.trigger ?? DEFAULT_TRIGGER;
  const decision = decideJoin(
    rule,
    ended.map((u) => (u ? outcomeOf(u) : undefined)),
  );
  if (decision.kind === 'wait' || rule !== DEFAULT_TRIGGER) return { decision };
  if (decision.kind === 'skip') {
    // The first dependency (in `after` order) that did not succeed names the reason: every decider agrees.
    const u = ended.find((x) => x !== undefined && x.status !== 'succeeded');
    return { decision, error: u && { reason: 'upstream', message: `upstream task ${u.name} ${u.status}` } };
  }
  if (ending) return { decision: { kind: 'skip', upstreamFailed: false, message: '' }, error: ending };
  return { decision };
}

/**
 * Counts before the run is read: a success whose untold successors are all counted joins (a wide
 * fan-in's every branch) counts them first, and the caller reads the run only for those whose count
 * reached their width, that is once per join instead of once per dependency. Undefined when that does not
 * apply (another successor, or an ending that is not a success: a failure records itself on the run).
 */
export async function countBeforeRun(deps: Deps, task: TaskItem, only: ReadonlySet<string>): Promise<Map<string, TaskItem> | undefined> {
  if (task.status !== 'succeeded' || task.workflow === undefined || task.version === undefined || only.size === 0) return undefined;
  const wf = await loadWorkflow(deps.db, task.workflow, task.version);
  const names = [...only];
  if (!names.every((s) => isCounted(wf.definition.tasks[s]))) return undefined;
  const reached = new Map<string, TaskItem>();
  for (const s of names) {
    const t = await countTogether(deps, task.runId, s);
    if (t?.status === 'blocked' && (t.depCount ?? 0) >= (wf.definition.tasks[s]?.after.length ?? 0)) reached.set(s, t);
  }
  return reached;
}

/**
 * Counts one ending on a counted join, in one write with the other counts this process is making on
 * the same join at the same time: a wide fan-in's endings reach the master together (a stream batch is
 * handled in parallel), and while one count is in flight the next ones wait and then go as one `ADD` of
 * their number. No count waits for anything but the write before it. One of those counted together gets
 * the item as the write left it and decides from it; the others get it with no count (`depCount` 0),
 * so that a count which reached the join's width is acted on once, as when each ending wrote its own.
 * A failed write fails every count in it (each record is retried, and counts again: an over-count
 * only makes the join look early, see above).
 */
function countTogether(deps: Deps, runId: string, name: string): Promise<TaskItem | undefined> {
  const key = `${deps.db.config.table}\u0000${runId}\u0000${name}`;
  return new Promise((resolve, reject) => {
    const group = waiting.get(key) ?? [];
    waiting.set(key, group);
    group.push({ resolve, reject });
    if (!writing.has(key)) void flushCounts(deps, runId, name, key);
  });
}

interface Waiter {
  readonly resolve: (t: TaskItem | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/** Counts waiting to be written, by join; and the joins whose count write is in flight (this process). */
const waiting = new Map<string, Waiter[]>();
const writing = new Set<string>();

async function flushCounts(deps: Deps, runId: string, name: string, key: string) {
  writing.add(key);
  try {
    for (let group = waiting.get(key); group; group = waiting.get(key)) {
      waiting.delete(key);
      try {
        const t = await countDep(deps.db, runId, name, group.length);
        for (const [i, w] of group.entries()) w.resolve(i === 0 || !t ? t : { ...t, depCount: 0 });
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
  } finally {
    writing.delete(key);
  }
}

/**
 * A success whose successors are all counted joins and which is no sink: an advance that does not count
 * joins (the worker's inline one) has nothing to do for it, and knows so from the definition the task
 * item names, without reading the run. False when the item does not name its workflow.
 */
export async function onlyCountedAfter(deps: Deps, task: TaskItem): Promise<boolean> {
  if (task.status !== 'succeeded' || task.workflow === undefined || task.version === undefined) return false;
  return onlyCountedJoinsAfter(await loadWorkflow(deps.db, task.workflow, task.version), task.name);
}

/** Whether every successor of `name` is a counted join (and it is no sink): its success's inline advance does nothing. */
export function onlyCountedJoinsAfter(wf: LoadedWorkflow, name: string): boolean {
  const next = wf.graph.successors[name] ?? [];
  return next.length > 0 && next.every((s) => isCounted(wf.definition.tasks[s])) && !wf.graph.sinks.includes(name);
}

/** Whether every dependency of a counted join has ended, from the run's items (the watchdog's check). */
export function allEnded(spec: TaskSpec, tasks: ReadonlyMap<string, Pick<TaskItem, 'status'>>): boolean {
  return spec.after.every((d) => TERMINAL_TASK.has(tasks.get(d)?.status ?? ''));
}
