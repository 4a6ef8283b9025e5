import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crashEnabled, crashPoint } from '../common/crash.js';
import { type CallbackResult, type CallbackState, recordCallback, tasksByPrefix, wakeForExecution } from '../store/callbacks.js';
import type { TaskItem } from '../store/items.js';
import { getTask, requestWake } from '../store/tasks.js';
import { executionName, parseExecutionName, type SfnState } from '../tasks/stepfunctions.js';
import type { Deps } from './deps.js';

/**
 * External completion of waiting attempts: callbacks from asynchronous Lambda functions, and Step
 * Functions status-change events. Both only wake the attempt (waiting → queued, one conditional
 * write) and dispatch it; the executor, resumed with its state, decides the outcome.
 */

// ---- callback tokens -------------------------------------------------------------------------

/**
 * A callback token names its attempt and carries 192 random bits: `v1.{base64url([runId, task,
 * attempt])}.{base64url(random)}`. Only its SHA-256 is stored (in the waiting attempt's state), so
 * reading the table does not let anyone complete a task; no shared secret is needed.
 */
export function mintCallbackToken(runId: string, task: string, attempt: number): { token: string; tokenHash: string } {
  const coords = Buffer.from(JSON.stringify([runId, task, attempt])).toString('base64url');
  const token = `v1.${coords}.${randomBytes(24).toString('base64url')}`;
  return { token, tokenHash: hashToken(token) };
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function parseCallbackToken(token: string): { runId: string; task: string; attempt: number } | undefined {
  const m = /^v1\.([A-Za-z0-9_-]{4,2000})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!m) return undefined;
  try {
    const v = JSON.parse(Buffer.from(m[1] as string, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 3) return undefined;
    const [runId, task, attempt] = v as unknown[];
    if (typeof runId !== 'string' || typeof task !== 'string' || !Number.isInteger(attempt) || (attempt as number) < 1) return undefined;
    return { runId, task, attempt: attempt as number };
  } catch {
    return undefined;
  }
}

// ---- callbacks -------------------------------------------------------------------------------

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
      if (t.status === 'waiting' && t.wake === 'resume') {
        const woken = await recordCallback(deps.db, t, hash, result, deps.now());
        if (woken) {
          deps.log.info(
            { run: t.runId, task: t.name, attempt: t.attempt, from: 'waiting', to: 'queued', by: 'callback' },
            'task transition',
          );
          await dispatch(deps, woken);
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

async function dispatch(deps: Deps, t: TaskItem): Promise<void> {
  if (crashEnabled) crashPoint('before:dispatch');
  try {
    await deps.dispatch({ runId: t.runId, task: t.name, attempt: t.attempt });
  } catch (err) {
    // The attempt is queued with a due time: the sweeper dispatches it again.
    deps.log.warn({ run: t.runId, task: t.name, err: String(err) }, 'dispatch after external completion failed; the sweeper will retry');
  }
}

// ---- Step Functions status changes -----------------------------------------------------------

/** The `detail` of an EventBridge "Step Functions Execution Status Change" event (the fields used here). */
export interface SfnStatusDetail {
  readonly executionArn: string;
  readonly stateMachineArn?: string;
  readonly name: string;
  readonly status: string;
}

const TERMINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

export type StatusChangeResult = 'woken' | 'wake_requested' | 'ignored_status' | 'ignored_unknown' | 'ignored_not_waiting';

/**
 * An execution ended: wake the attempt that waits on it, so that its worker reads the final status.
 * The execution name leads to the task and attempt; a waiting attempt is woken only if its state names
 * this very execution. If the attempt is running (it started the execution and has not yet recorded
 * its suspension, or it is reading the status right now), it is flagged instead (`requestWake`): it
 * then wakes at once rather than sleep through the event. Anything else (an execution Baton did not
 * start, a duplicate, a late RUNNING event, an attempt that moved on) changes nothing.
 */
export async function onExecutionStatusChange(deps: Deps, detail: SfnStatusDetail): Promise<StatusChangeResult> {
  if (!TERMINAL_EXECUTION.has(detail.status)) return 'ignored_status';
  const parsed = parseExecutionName(detail.name);
  if (!parsed) return 'ignored_unknown';
  const candidates = await tasksNamed(
    deps,
    parsed.runId,
    parsed.task,
    parsed.prefix,
    (n) => executionName(parsed.runId, n, parsed.attempt) === detail.name,
  );
  let result: StatusChangeResult = 'ignored_unknown';
  for (const t of candidates) {
    const r = await wakeWaiter(deps, t, parsed.attempt, detail);
    if (r === 'woken' || r === 'wake_requested') return r;
    if (r === 'ignored_not_waiting') result = r;
  }
  return result;
}

async function wakeWaiter(deps: Deps, first: TaskItem, attempt: number, detail: SfnStatusDetail): Promise<StatusChangeResult> {
  let t: TaskItem | undefined = first;
  // A few rounds at most: each one follows a transition that happened between our read and our write.
  for (let round = 0; t && round < 4; round++) {
    const awaited = (t.state as Partial<SfnState> | undefined)?.executionArn;
    const ours = awaited === detail.executionArn;
    if (t.status === 'waiting' && t.wake === 'resume' && ours) {
      const woken = await wakeForExecution(deps.db, t, detail.executionArn, deps.now());
      if (woken) {
        deps.log.info(
          { run: t.runId, task: t.name, attempt: t.attempt, from: 'waiting', to: 'queued', by: 'sfn-event', execution: detail.status },
          'task transition',
        );
        await dispatch(deps, woken);
        return 'woken';
      }
    } else if (t.status === 'running' && t.attempt === attempt && (ours || awaited === undefined)) {
      if (await requestWake(deps.db, t.runId, t.name, t.attempt)) return 'wake_requested';
    } else {
      return ours || (t.attempt === attempt && awaited === undefined) ? 'ignored_not_waiting' : 'ignored_unknown';
    }
    t = await getTask(deps.db, t.runId, t.name);
  }
  return 'ignored_not_waiting';
}

async function tasksNamed(deps: Deps, runId: string, task: string, prefix: string | undefined, names: (task: string) => boolean) {
  const exact = await getTask(deps.db, runId, task);
  const found = exact ? [exact] : [];
  if (prefix !== undefined) {
    for (const t of await tasksByPrefix(deps.db, runId, prefix)) if (t.name !== task && names(t.name)) found.push(t);
  }
  return found;
}
