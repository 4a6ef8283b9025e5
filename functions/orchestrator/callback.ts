import { timingSafeEqual } from 'node:crypto';
import { type CallbackResult, type CallbackState, recordCallback } from '../store/callbacks.js';
import { TERMINAL_TASK } from '../store/items.js';
import { getTask } from '../store/tasks.js';
import { hashToken, parseCallbackToken } from './callback-token.js';
import type { Deps } from './deps.js';
import { dispatchAttempt } from './dispatch.js';

/**
 * External completion of a waiting asynchronous `lambda` attempt, by its function's callback (the
 * token is minted in callback-token.ts; Step Functions events are in sfn-events.ts). It only wakes the
 * attempt (waiting → queued, one conditional write) and dispatches it; the executor, resumed with its
 * state, decides the outcome.
 */

export type CallbackBody = { readonly output: unknown } | { readonly error: { message: string; reason?: string; retryable?: boolean } };

export type CallbackAnswer =
  | { readonly kind: 'accepted'; readonly runId: string; readonly task: string; readonly attempt: number }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'forbidden' }
  | { readonly kind: 'conflict'; readonly code: 'already_completed' | 'stale_attempt' | 'not_waiting'; readonly message: string }
  | { readonly kind: 'not_ready' };

export interface SettleOptions {
  /** How long to wait for an attempt that is between its call and its suspension (ms). */
  readonly settleMs?: number;
}

const DEFAULT_SETTLE_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Completes an asynchronous `lambda` attempt from its function's report. The result goes into the
 * attempt's state and the attempt is woken, in one conditional write; then it is dispatched. A
 * callback can overtake the worker that invoked the function (the attempt is still `running`, its
 * suspension not yet written): it then waits a little, re-reading, and answers `not_ready` (503, retry)
 * if the attempt still has not settled.
 */
export async function completeByCallback(deps: Deps, token: string, body: CallbackBody, opts: SettleOptions = {}): Promise<CallbackAnswer> {
  const coords = parseCallbackToken(token);
  if (!coords) return { kind: 'not_found' };
  const hash = hashToken(token);
  const result: CallbackResult =
    'error' in body ? { error: strip(body.error), at: deps.now() } : { output: body.output ?? null, at: deps.now() };
  const end = Date.now() + (opts.settleMs ?? DEFAULT_SETTLE_MS);
  for (let pause = 25; ; pause = Math.min(pause * 2, 400)) {
    const t = await getTask(deps.db, coords.runId, coords.task);
    if (!t || t.attempt < coords.attempt) return { kind: 'not_found' };
    if (t.attempt > coords.attempt) {
      return { kind: 'conflict', code: 'stale_attempt', message: `attempt ${coords.attempt} is over; the task is at attempt ${t.attempt}` };
    }
    const st = t.state as CallbackState | undefined;
    if (st?.tokenHash !== undefined) {
      if (!sameHash(st.tokenHash, hash)) return { kind: 'forbidden' };
      if (st.callback) return { kind: 'conflict', code: 'already_completed', message: 'this attempt has already been reported' };
      // Cancelled (its run was cancelled or timed out), or ended otherwise: the token is dead; a late
      // report is refused at once rather than asked to retry.
      if (TERMINAL_TASK.has(t.status)) {
        return { kind: 'conflict', code: 'not_waiting', message: `the attempt is ${t.status}, not waiting for a callback` };
      }
      if (t.status === 'waiting' && t.wake === 'resume') {
        const woken = await recordCallback(deps.db, t, hash, result, deps.now());
        if (woken) {
          deps.log.info(
            { run: t.runId, task: t.name, attempt: t.attempt, from: 'waiting', to: 'queued', by: 'callback' },
            'task transition',
          );
          await dispatchAttempt(deps, woken);
          return { kind: 'accepted', runId: t.runId, task: t.name, attempt: t.attempt };
        }
        continue; // the attempt changed under us: read it again
      }
    } else if (t.status !== 'running' && t.status !== 'queued') {
      return { kind: 'conflict', code: 'not_waiting', message: `the attempt is ${t.status}, not waiting for a callback` };
    }
    // running or queued: the worker has not written the suspension yet, or is re-checking. Settle.
    if (Date.now() + pause > end) return { kind: 'not_ready' };
    await sleep(pause);
  }
}

function strip(e: { message: string; reason?: string; retryable?: boolean }) {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as typeof e;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
