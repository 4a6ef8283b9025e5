import type { DependencyCriteria } from '../engine/flow/dependency-match.js';
import type { Db } from './db.js';

/**
 * Waiter items: one per attempt of a `dependent` task that found no matching run, filed under the
 * workflow it waits for, so that a run of that workflow ending finds its waiters with one query of one
 * partition (`DEPWAIT#<workflow>` / `WAIT#<run>#<task>#<attempt>`), never a scan. The item carries the attempt's criteria, so the run
 * end wakes only the tasks that run satisfies. A waiter is written before the attempt's last look at
 * the runs (so no run can end unseen between the two), removed when its attempt found its run or was
 * found to be over, and otherwise expires with the table's retention.
 */

/** Who waits, and for what. */
export interface Waiter {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  readonly criteria: DependencyCriteria;
  readonly createdAt: number;
}

export interface WaiterItem extends Waiter {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'waiter';
}

const waiterKey = (workflow: string, w: Pick<Waiter, 'runId' | 'task' | 'attempt'>) => ({
  pk: `DEPWAIT#${workflow}`,
  // A fixed first part: crash points are named after it (`after:create:WAIT`).
  sk: `WAIT#${w.runId}#${w.task}#${String(w.attempt).padStart(4, '0')}`,
});

/**
 * Files the waiter (a conditional put: one item per attempt). False when it was already there: the
 * attempt resumed and looks again, or a new holder of it after a lost lease does.
 */
export function addWaiter(db: Db, w: Waiter): Promise<boolean> {
  return db.create({ ...waiterKey(w.criteria.workflow, w), kind: 'waiter', ...w, ...db.expiry(w.createdAt) });
}

/** The waiters of one workflow's runs (one partition, read consistently, so a waiter just written is seen). */
export const listWaiters = (db: Db, workflow: string) =>
  db.queryAll<WaiterItem>(waiterKey(workflow, { runId: '', task: '', attempt: 0 }).pk);

/** Removes the waiter if it is there (a conditional delete). False when it was already gone. */
export const removeWaiter = (db: Db, w: Pick<Waiter, 'runId' | 'task' | 'attempt' | 'criteria'>) =>
  db.remove(waiterKey(w.criteria.workflow, w));
