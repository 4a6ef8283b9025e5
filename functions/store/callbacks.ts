import type { Db } from './db.js';
import { and, whereEquals } from './expr.js';
import { keys, type TaskItem } from './items.js';

/**
 * Conditional writes for external completion: a callback for an asynchronous Lambda task, and a
 * Step Functions status-change event. Each one wakes a waiting attempt (waiting → queued, same
 * attempt, like `wake` in tasks.ts) only if the attempt is still the one the caller speaks for.
 */

/** What a function reported through `POST /callbacks/{token}`; kept in the waiting attempt's `state.callback`. */
export type CallbackResult =
  | { readonly output: unknown; readonly at: number }
  | { readonly error: { readonly message: string; readonly reason?: string; readonly retryable?: boolean }; readonly at: number };

/** The part of an async `lambda` attempt's state that callbacks read and write. */
export interface CallbackState {
  readonly tokenHash?: string;
  readonly callback?: CallbackResult;
  readonly [k: string]: unknown;
}

const wakeFields = (db: Db, t: Pick<TaskItem, 'runId' | 'name'>, now: number) => ({
  status: 'queued',
  queuedAt: now,
  ...db.due(keys.task(t.runId, t.name), now + db.config.leaseMs),
});

/**
 * waiting → queued with the callback recorded in the attempt's state, in one write. Holds only while
 * the attempt is `attempt`, waits, carries the same token hash, and has no callback yet: a second
 * callback, or one for an attempt that moved on, changes nothing. No `wake = 'resume'` check: an
 * attempt waiting for its retry has no `state` (the retry removes it), so the token hash already
 * tells a suspended attempt from it (the guard mutation run showed the check could never decide).
 */
export function recordCallback(db: Db, t: TaskItem, tokenHash: string, result: CallbackResult, now: number) {
  const state = { ...(t.state as CallbackState), callback: result };
  return db.update<TaskItem>(
    keys.task(t.runId, t.name),
    { set: { ...wakeFields(db, t, now), state }, remove: ['wake'] },
    and(whereEquals({ status: 'waiting', attempt: t.attempt }), {
      expr: '#st.#th = :th AND attribute_not_exists(#st.#cb)',
      names: { '#st': 'state', '#th': 'tokenHash', '#cb': 'callback' },
      values: { ':th': tokenHash },
    }),
  );
}

/**
 * waiting → queued for the attempt that awaits `executionArn` (a Step Functions execution that ended).
 * As for a callback, the ARN in `state` tells a suspended attempt from one waiting for its retry.
 */
export function wakeForExecution(db: Db, t: TaskItem, executionArn: string, now: number) {
  return db.update<TaskItem>(
    keys.task(t.runId, t.name),
    { set: wakeFields(db, t, now), remove: ['wake'] },
    and(whereEquals({ status: 'waiting', attempt: t.attempt }), {
      expr: '#st.#arn = :arn',
      names: { '#st': 'state', '#arn': 'executionArn' },
      values: { ':arn': executionArn },
    }),
  );
}

/** Tasks of a run whose name starts with `prefix` (at most `limit`): resolves a truncated name. */
export async function tasksByPrefix(db: Db, runId: string, prefix: string, limit = 20): Promise<TaskItem[]> {
  const k = keys.task(runId, prefix);
  const r = await db.query<TaskItem>({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
    ExpressionAttributeValues: { ':pk': k.pk, ':sk': k.sk },
    ConsistentRead: true,
    Limit: limit,
  });
  return r.items.filter((i) => i.kind === 'task');
}
