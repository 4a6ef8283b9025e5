import type { Db, Key } from './db.js';
import { and, type Condition, notReset, whereEquals } from './expr.js';
import { CHILD_SK_PREFIX, type ChildLinkItem, keys, type Recovery, type RunItem, type RunStatus, type TaskError } from './items.js';
import { DUE_ATTRIBUTES, TABLE } from './table.js';

/** Run transitions and queries. Like tasks, every change is a conditional write on the run item. */

export type NewRun = Omit<RunItem, 'pk' | 'sk' | 'kind' | 'status' | 'dueAt'>;

/**
 * Creates a run: `queued` (the master's `startRun` then admits it and queues its roots), or, when
 * `running` is set (nothing gates its start: `orchestrator/start.ts`), already `running` since its
 * creation, whose stream record queues its roots (`run-start.ts startCreated`). Returns false if a run
 * with this id already exists.
 *
 * Either way the run is due one claim deadline after its creation: a queued run whose start event is
 * lost is started by the sweeper; a running one is checked (`reconcile.ts checkStart`: roots never
 * queued are queued, roots still in flight indexed). A run created running is due no later than its
 * first watchdog, as `startRun` would have set it.
 */
export function createRun(db: Db, run: NewRun, running = false): Promise<boolean> {
  return db.create(newRunItem(db, run, running));
}

/** The item `createRun` writes for a run created running: what its creator decides from without reading it. */
export function createdRunning(db: Db, run: NewRun): RunItem {
  return newRunItem(db, run, true) as unknown as RunItem;
}

function newRunItem(db: Db, run: NewRun, running: boolean): Key & Record<string, unknown> {
  const key = keys.run(run.runId);
  const { leaseMs, watchdogMs } = db.config;
  return {
    ...key,
    kind: 'run',
    ...run,
    status: running ? 'running' : 'queued',
    ...(running && { startedAt: run.createdAt }),
    [TABLE.runsPk]: `WF#${run.workflow}`,
    [TABLE.runsSk]: `${new Date(run.createdAt).toISOString()}#${run.runId}`,
    ...db.due(key, run.createdAt + (running ? Math.min(leaseMs, watchdogMs) : leaseMs)),
  };
}

export const getRun = (db: Db, runId: string) => db.get<RunItem>(keys.run(runId));

/**
 * queued → running. The run keeps the due time it has unless `due` is given (`orchestrator/run-start.ts`
 * decides: moving the entry costs two index writes): its first firing after the start checks the roots,
 * which were queued out of the due index, and moves it to the watchdog's (`reconcile.ts checkStart`); from
 * then on the run watchdog looks for lost events every `watchdogMs`.
 */
export function markStarted(db: Db, runId: string, now: number, due?: number) {
  const key = keys.run(runId);
  return db.update<RunItem>(
    key,
    { set: { status: 'running', startedAt: now, ...(due !== undefined && db.due(key, due)) } },
    whereEquals({ status: 'queued' }),
  );
}

/**
 * Records the first failure of a run. Later failures keep the first. `seen`: the `recoveries` of the
 * caller's view of the run; a recovery begun since (which clears the failure) refuses it (`notReset`).
 */
export function recordFailure(db: Db, runId: string, failure: TaskError & { task: string }, seen?: number) {
  return db.update<RunItem>(
    keys.run(runId),
    { set: { failure } },
    and(
      {
        expr: '#s IN (:q, :r, :p) AND attribute_not_exists(#f)',
        names: { '#s': 'status', '#f': 'failure' },
        values: { ':q': 'queued', ':r': 'running', ':p': 'paused' },
      },
      ...notReset(seen, 'recoveries'),
    ),
  );
}

/**
 * running | paused → succeeded | failed | cancelled (a paused run whose last task ended has nothing left to
 * hold). A succeeded run carries its collected `output`, or, when that is
 * too large for the run item, `outputFrom`: the sinks whose task items hold it.
 */
export function finishRun(
  db: Db,
  runId: string,
  status: RunStatus,
  now: number,
  output?: unknown,
  failure?: RunItem['failure'],
  outputFrom?: readonly string[],
  seen?: number,
) {
  return db.update<RunItem>(
    keys.run(runId),
    { set: { status, endedAt: now, output, outputFrom, failure, ...db.expiry(now) }, remove: DUE_ATTRIBUTES },
    and(
      { expr: '#s IN (:q, :r, :p)', names: { '#s': 'status' }, values: { ':q': 'queued', ':r': 'running', ':p': 'paused' } },
      // `seen`: the recoveries of the caller's view; a recovery begun since refuses the finish (`notReset`).
      ...notReset(seen, 'recoveries'),
    ),
  );
}

/** Pushes the watchdog forward after a check found the run healthy. */
export function bumpWatchdog(db: Db, run: RunItem, now: number) {
  const key = keys.run(run.runId);
  return db.update<RunItem>(key, { set: db.due(key, now + db.config.watchdogMs) }, whereEquals({ status: run.status, dueAt: run.dueAt }));
}

/** Every item of a run: the run, its tasks, its join item and its child links. */
export const runItems = (db: Db, runId: string) => db.queryAll<Record<string, unknown>>(keys.run(runId).pk);

export interface RunPage {
  runs: Pick<RunItem, 'runId' | 'status' | 'createdAt' | 'endedAt' | 'version' | 'trigger'>[];
  cursor?: string;
}

/**
 * A listing cursor back into the key it came from. Anything else (not JSON, not a key of this index, a
 * key of another workflow's listing) is a SyntaxError, which the API answers with 400: DynamoDB would
 * reject it with a ValidationException, which is a 500.
 */
function decodeCursor(cursor: string, workflow: string): Record<string, unknown> {
  const key = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
  const fields = [TABLE.pk, TABLE.sk, TABLE.runsPk, TABLE.runsSk];
  const ok =
    key !== null &&
    typeof key === 'object' &&
    !Array.isArray(key) &&
    Object.keys(key).length === fields.length &&
    fields.every((f) => typeof (key as Record<string, unknown>)[f] === 'string') &&
    (key as Record<string, unknown>)[TABLE.runsPk] === `WF#${workflow}`;
  if (!ok) throw new SyntaxError('cursor is not valid');
  return key as Record<string, unknown>;
}

/** Runs of one workflow, newest first, optionally of one status. */
export async function listRuns(db: Db, workflow: string, opts: { status?: string; limit: number; cursor?: string }): Promise<RunPage> {
  const start = opts.cursor ? decodeCursor(opts.cursor, workflow) : undefined;
  const runs: RunPage['runs'] = [];
  let next: Record<string, unknown> | undefined = start;
  // A status filter is applied after the read, so keep reading until the page is full.
  do {
    const r = await db.query<RunPage['runs'][number]>({
      IndexName: TABLE.runsIndex,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': TABLE.runsPk, ...(opts.status ? { '#s': 'status' } : {}) },
      ExpressionAttributeValues: { ':p': `WF#${workflow}`, ...(opts.status ? { ':s': opts.status } : {}) },
      FilterExpression: opts.status ? '#s = :s' : undefined,
      ScanIndexForward: false,
      Limit: opts.limit - runs.length,
      ExclusiveStartKey: next,
    });
    runs.push(
      ...r.items.map(({ runId, status, createdAt, endedAt, version, trigger }) => ({
        runId,
        status,
        createdAt,
        endedAt,
        version,
        trigger,
      })),
    );
    next = r.next;
  } while (next && runs.length < opts.limit);
  return { runs, cursor: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : undefined };
}

/** Writes the one linkage for a sub-workflow attempt: the item written, or undefined if one already existed (adopt that one). */
export async function createChildLink(db: Db, link: Omit<ChildLinkItem, 'pk' | 'sk' | 'kind'>): Promise<ChildLinkItem | undefined> {
  const item: ChildLinkItem = { ...keys.child(link.parentRunId, link.task, link.attempt), kind: 'child', ...link };
  return (await db.create({ ...item, ...db.expiry(link.createdAt) })) ? item : undefined;
}

/** The links to every child run a run's sub-workflow tasks started. */
export const listChildLinks = (db: Db, runId: string) => db.queryAll<ChildLinkItem>(keys.run(runId).pk, CHILD_SK_PREFIX);

export const getChildLink = (db: Db, runId: string, task: string, attempt: number) =>
  db.get<ChildLinkItem>(keys.child(runId, task, attempt));

/** queued | running | paused → cancelled. */
export function cancelRun(db: Db, runId: string, now: number, reason: string) {
  return db.update<RunItem>(
    keys.run(runId),
    { set: { status: 'cancelled', endedAt: now, cancelReason: reason, ...db.expiry(now) }, remove: DUE_ATTRIBUTES },
    {
      expr: '#s IN (:p, :q, :r, :z)',
      names: { '#s': 'status' },
      values: { ':p': 'pending', ':q': 'queued', ':r': 'running', ':z': 'paused' },
    },
  );
}

/**
 * A run whose work must stop (cancelled, timed out) is due again at `at` for a second `stopWork` pass
 * (`orchestrator/claim-window.ts`). Guarded by the ending read (status and end time): a recovery that
 * came first, or a later ending, is left alone. A repeat moves the due time; the pass is idempotent.
 */
export function armStopAgain(db: Db, run: Pick<RunItem, 'runId' | 'status' | 'endedAt'>, at: number) {
  const key = keys.run(run.runId);
  return db.update<RunItem>(
    key,
    { set: { stopAgain: true, ...db.due(key, at) } },
    whereEquals({ status: run.status, endedAt: run.endedAt }),
  );
}

/** The second pass is done: the run leaves the due index. Guarded by the status and due time read. */
export function clearStopAgain(db: Db, run: Pick<RunItem, 'runId' | 'status' | 'dueAt'>) {
  return db.update<RunItem>(
    keys.run(run.runId),
    { remove: ['stopAgain', ...DUE_ATTRIBUTES] },
    whereEquals({ status: run.status, dueAt: run.dueAt }),
  );
}

/** running → paused. Attempts already running finish; the worker holds anything claimed from now on. */
export function pauseRun(db: Db, runId: string, now: number) {
  return db.update<RunItem>(keys.run(runId), { set: { status: 'paused', pausedAt: now } }, whereEquals({ status: 'running' }));
}

/** paused → running. The stream (and the watchdog, as a backstop) then releases the held attempts. */
export function resumeRun(db: Db, runId: string) {
  return db.update<RunItem>(keys.run(runId), { set: { status: 'running' }, remove: ['pausedAt'] }, whereEquals({ status: 'paused' }));
}

/**
 * An ended run (failed, cancelled, or succeeded for a "clear with downstream") → running, recording the
 * recovery on the run in the same write, so that the stream can re-drive it if whoever started it dies.
 * Guarded by the status and recovery count read: of two concurrent recovers, one wins.
 */
export function beginRecovery(db: Db, run: RunItem, tasks: string[], now: number, key?: string) {
  const rkey = keys.run(run.runId);
  const n = (run.recoveries ?? 0) + 1;
  const recovery: Recovery = { n, tasks, at: now, ...(key ? { key } : {}) };
  const counted: Condition =
    run.recoveries === undefined
      ? { expr: 'attribute_not_exists(#n)', names: { '#n': 'recoveries' } }
      : whereEquals({ recoveries: run.recoveries });
  return db.update<RunItem>(
    rkey,
    {
      set: { status: 'running', recoveries: n, recovery, ...db.due(rkey, now + db.config.watchdogMs) },
      remove: ['endedAt', 'failure', 'output', 'cancelReason', 'expiresAt', 'pausedAt', 'timedOutAt', 'stopAgain'],
    },
    and(whereEquals({ status: run.status }), counted),
  );
}

// Run transitions the concurrency gate makes (store/schedules.ts holds the gate itself)

/** queued → pending: the run waits for a slot; the sweeper re-checks it at `recheckAt`. */
export function markPending(db: Db, runId: string, now: number, recheckAt: number) {
  const key = keys.run(runId);
  return db.update<RunItem>(
    key,
    { set: { status: 'pending', pendingAt: now, ...db.due(key, recheckAt) } },
    whereEquals({ status: 'queued' }),
  );
}

/**
 * pending → queued: admitted, and due at once, so that the timer the caller sets (or the sweeper) starts
 * it through `fireDue` → `startRun` (a backstop: the AWS stream filter also passes a run moving from pending to queued).
 */
export function markAdmitted(db: Db, runId: string, now: number) {
  const key = keys.run(runId);
  return db.update<RunItem>(key, { set: { status: 'queued', admittedAt: now, ...db.due(key, now) } }, whereEquals({ status: 'pending' }));
}

/** Pushes a pending run's re-check forward. */
export function bumpPending(db: Db, run: RunItem, recheckAt: number) {
  const key = keys.run(run.runId);
  return db.update<RunItem>(key, { set: db.due(key, recheckAt) }, whereEquals({ status: 'pending', dueAt: run.dueAt }));
}

/** queued → skipped (terminal, never started). */
export function markSkipped(db: Db, runId: string, now: number, reason: string) {
  return db.update<RunItem>(
    keys.run(runId),
    { set: { status: 'skipped', endedAt: now, skipReason: reason, ...db.expiry(now) }, remove: DUE_ATTRIBUTES },
    whereEquals({ status: 'queued' }),
  );
}

/** A run as the runs-by-workflow index shows it (its projected attributes). */
export type IndexedRun = Pick<RunItem, 'runId' | 'status' | 'createdAt' | 'endedAt' | 'version' | 'trigger'>;

/**
 * One page of a workflow's runs created at or after `since` (all of them without it), newest first,
 * from the runs-by-workflow index: a query of one index partition bounded by its sort key, never a scan.
 * The index is eventually consistent: a status read here may lag the run item by a moment.
 */
export async function runsCreatedSince(
  db: Db,
  workflow: string,
  opts: { since?: number; limit: number; start?: Record<string, unknown> },
): Promise<{ runs: IndexedRun[]; next?: Record<string, unknown> }> {
  const bounded = opts.since !== undefined;
  const r = await db.query<IndexedRun>({
    IndexName: TABLE.runsIndex,
    KeyConditionExpression: bounded ? '#p = :p AND #s >= :since' : '#p = :p',
    ExpressionAttributeNames: { '#p': TABLE.runsPk, ...(bounded && { '#s': TABLE.runsSk }) },
    ExpressionAttributeValues: {
      ':p': `WF#${workflow}`,
      ...(bounded && { ':since': new Date(Math.max(0, opts.since as number)).toISOString() }),
    },
    ScanIndexForward: false,
    Limit: opts.limit,
    ExclusiveStartKey: opts.start,
  });
  return { runs: r.items, next: r.next };
}
