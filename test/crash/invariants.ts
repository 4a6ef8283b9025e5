import { TERMINAL_RUN as TERMINAL } from '../../functions/store/items.js';

/** An item of the table as a scan returns it. */
export type Item = Record<string, any>;

export interface InvariantReport {
  readonly violations: string[];
  readonly runs: number;
  readonly childRuns: number;
  readonly links: number;
  readonly tasks: number;
  readonly attemptRecords: number;
  readonly lostRecords: number;
  readonly checks: Record<string, number>;
}

/**
 * The failover invariants, checked on a scan of the whole table:
 * - exactly one child per (parent run, task, attempt): linkage items and child runs (by their `parent`
 *   field) agree one to one, and no child run exists without its linkage;
 * - no attempt completed by two holders: per (task, attempt) at most one succeeded/failed record;
 * - no task succeeded twice; each lease (fencing token) ended at most once (one reclaim, or one outcome);
 * - every run is terminal (when `allTerminal`);
 * - a parent task's attempt ended as its child did (succeeded ↔ succeeded, with the child's output).
 */
export function checkInvariants(items: Item[], opts: { allTerminal?: boolean } = {}): InvariantReport {
  const v: string[] = [];
  const checks: Record<string, number> = {};
  const count = (k: string) => {
    checks[k] = (checks[k] ?? 0) + 1;
  };
  const runs = new Map<string, Item>();
  const tasks = new Map<string, Item>();
  const links = new Map<string, Item>();
  for (const it of items) {
    if (it.kind === 'run') runs.set(it.runId, it);
    else if (it.kind === 'task') tasks.set(`${it.runId}/${it.name}`, it);
    else if (it.kind === 'child') links.set(`${it.parentRunId}/${it.task}/${it.attempt}`, it);
  }
  const childrenByAttempt = new Map<string, Item[]>();
  let childRuns = 0;
  for (const r of runs.values()) {
    count('run terminal');
    if (opts.allTerminal && !TERMINAL.has(r.status)) v.push(`run ${r.runId} (${r.workflow}) is ${r.status}, not terminal`);
    if (!r.parent) continue;
    childRuns++;
    const k = `${r.parent.runId}/${r.parent.task}/${r.parent.attempt}`;
    const list = childrenByAttempt.get(k);
    if (list) list.push(r);
    else childrenByAttempt.set(k, [r]);
  }
  for (const [k, cs] of childrenByAttempt) {
    count('one child per attempt');
    const ids = (list: Item[]) =>
      `${list
        .slice(0, 5)
        .map((c) => c.runId)
        .join(', ')}${list.length > 5 ? ', ...' : ''}`;
    if (cs.length !== 1) v.push(`${cs.length} child runs for ${k}: ${ids(cs)}`);
    const link = links.get(k);
    count('child has linkage');
    if (!link) v.push(`child run(s) ${ids(cs)} of ${k} without a linkage item`);
    else if (!cs.some((c) => c.runId === link.childRunId))
      v.push(`linkage ${k} names ${link.childRunId}, but the child is ${cs[0]?.runId}`);
  }
  for (const [k, link] of links) {
    count('linkage has child');
    if (!childrenByAttempt.has(k)) {
      // Only acceptable if that parent attempt ended without ever creating its child (lost, timed out, run over).
      const t = tasks.get(`${link.parentRunId}/${link.task}`);
      const rec = (t?.attempts ?? []).find((a: Item) => a.attempt === link.attempt && a.status !== 'lost');
      const parent = runs.get(link.parentRunId);
      const over =
        rec?.error?.reason === 'lost' ||
        rec?.error?.reason === 'timeout' ||
        (parent && TERMINAL.has(parent.status) && t?.status !== 'succeeded');
      if (!over) v.push(`linkage ${k} names ${link.childRunId}, which does not exist`);
    }
  }
  let attemptRecords = 0;
  let lostRecords = 0;
  for (const [k, t] of tasks) {
    const done = new Map<number, number>();
    let succeeded = 0;
    for (const a of (t.attempts ?? []) as Item[]) {
      attemptRecords++;
      if (a.status === 'lost') {
        lostRecords++;
        continue;
      }
      done.set(a.attempt, (done.get(a.attempt) ?? 0) + 1);
      if (a.status === 'succeeded') succeeded++;
    }
    const byFence = new Map<number, number>();
    for (const a of (t.attempts ?? []) as Item[]) if (a.fence !== undefined) byFence.set(a.fence, (byFence.get(a.fence) ?? 0) + 1);
    count('each lease (fence) ended once');
    for (const [f, c] of byFence) if (c > 1) v.push(`task ${k}: the lease with fence ${f} ended ${c} times`);
    count('attempt completed once');
    for (const [n, c] of done) if (c > 1) v.push(`task ${k} attempt ${n} completed by ${c} holders`);
    count('task succeeded at most once');
    if (succeeded > 1) v.push(`task ${k} succeeded ${succeeded} times`);
    if (t.status === 'succeeded' && succeeded !== 1) v.push(`task ${k} is succeeded with ${succeeded} succeeded attempt records`);
  }
  // Parents complete from their children.
  for (const [k, cs] of childrenByAttempt) {
    const child = cs[0] as Item;
    const [runId, task, attempt] = [child.parent.runId, child.parent.task, Number(child.parent.attempt)];
    const t = tasks.get(`${runId}/${task}`);
    const parentRun = runs.get(runId);
    if (!t) {
      v.push(`child ${child.runId} names parent task ${k}, which does not exist`);
      continue;
    }
    const rec = ((t.attempts ?? []) as Item[]).find((a) => a.attempt === attempt && a.status !== 'lost');
    if (!rec) {
      // The parent attempt is not over: only acceptable while things still run.
      if (opts.allTerminal && parentRun && !TERMINAL.has(parentRun.status))
        v.push(`parent ${k} has no outcome for its ${child.status} child`);
      continue;
    }
    count('parent outcome matches child');
    if (rec.error?.reason === 'lost' || rec.error?.reason === 'timeout') continue;
    if (child.status === 'succeeded') {
      if (rec.status !== 'succeeded') v.push(`parent ${k} is ${rec.status} (${rec.error?.reason}) but its child ${child.runId} succeeded`);
      else if (t.status === 'succeeded' && t.attempt === attempt && JSON.stringify(t.output) !== JSON.stringify(child.output ?? null)) {
        v.push(`parent ${k} output ${JSON.stringify(t.output)} differs from its child's ${JSON.stringify(child.output)}`);
      }
    } else if (TERMINAL.has(child.status)) {
      if (rec.status !== 'failed' || !String(rec.error?.reason).startsWith('child_'))
        v.push(`parent ${k} is ${rec.status} (${rec.error?.reason}) but its child ${child.runId} ${child.status}`);
    } else {
      v.push(`parent ${k} ended ${rec.status} while its child ${child.runId} is still ${child.status}`);
    }
  }
  return { violations: v, runs: runs.size, childRuns, links: links.size, tasks: tasks.size, attemptRecords, lostRecords, checks };
}
