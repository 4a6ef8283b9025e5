import type { MapProgress } from '../orchestrator/map-operations.js';
import { resolveOutput } from '../orchestrator/run-output.js';
import type { LoadedWorkflow } from '../orchestrator/workflows.js';
import type { ChildLinkItem, RunItem, TaskItem } from '../store/items.js';
import { COMPLETABLE } from '../store/task-operations.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * The public JSON view of a run: the run, then every task of its definition in topological order (or,
 * when the definition cannot be loaded, the tasks the run has items for).
 */
export function runView(
  run: RunItem,
  items: Record<string, unknown>[],
  wf: LoadedWorkflow | undefined,
  maps: Readonly<Record<string, MapProgress>> = {},
) {
  const tasks = new Map<string, TaskItem>();
  const children: ChildLinkItem[] = [];
  for (const it of items) {
    if (it.kind === 'task') tasks.set(it.name as string, it as unknown as TaskItem);
    if (it.kind === 'child') children.push(it as unknown as ChildLinkItem);
  }
  return {
    runId: run.runId,
    workflow: run.workflow,
    version: run.version,
    status: run.status,
    params: run.params,
    trigger: run.trigger,
    parent: run.parent,
    createdAt: iso(run.createdAt),
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
    failure: run.failure,
    actions: runActions(run),
    recoveries: run.recoveries,
    pausedAt: iso(run.pausedAt),
    skipReason: run.skipReason,
    output: resolveOutput(run, (s) => tasks.get(s)?.output),
    tasks: (wf?.graph.order ?? [...tasks.keys()]).map((name) => {
      const spec = wf?.definition.tasks[name];
      const t = tasks.get(name);
      return {
        name,
        type: spec?.type,
        after: spec?.after,
        status: t?.status ?? 'blocked',
        attempt: t?.attempt ?? 0,
        queuedAt: iso(t?.queuedAt),
        startedAt: iso(t?.startedAt),
        endedAt: iso(t?.endedAt),
        // The attempt in progress (finished ones are in `attempts`): when it started, and on which worker.
        attemptStartedAt: iso(t?.attemptStartedAt),
        worker: t?.owner,
        wakeAt: t?.status === 'waiting' ? iso(t.dueAt) : undefined,
        held: t?.held,
        // A map: its items by status (page through them at /runs/{id}/tasks/{task}/items).
        map: maps[name],
        actions: t && COMPLETABLE.has(t.status) ? ['complete'] : [],
        output: t?.output,
        error: t?.error,
        attempts: (t?.attempts ?? []).map((a) => ({ ...a, startedAt: iso(a.startedAt), endedAt: iso(a.endedAt) })),
      };
    }),
    children: children.map(childView),
  };
}

export const childView = (c: ChildLinkItem) => ({
  task: c.task,
  attempt: c.attempt,
  runId: c.childRunId,
  workflow: c.workflow,
  createdAt: iso(c.createdAt),
});

/** The operations the API accepts on a run in its current status (a succeeded run recovers only named tasks). */
export function runActions(run: Pick<RunItem, 'status'>): string[] {
  switch (run.status) {
    case 'pending':
    case 'queued':
      return ['cancel', 'rerun'];
    case 'running':
      return ['pause', 'cancel', 'rerun'];
    case 'paused':
      return ['resume', 'cancel', 'rerun'];
    case 'failed':
    case 'cancelled':
    case 'succeeded':
      return ['recover', 'rerun'];
    default:
      return ['rerun'];
  }
}
