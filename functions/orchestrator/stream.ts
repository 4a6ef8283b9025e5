import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { unmarshallOptions } from '../store/client.js';
import { type RunItem, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { onWorkMustStop, workMustStop } from './cancel.js';
import type { Deps } from './deps.js';
import { emitEvents } from './events/emit.js';
import { advance } from './master.js';
import { releaseHeld } from './operations/pause.js';
import { applyRecovery } from './operations/recover.js';
import { onRunFinished } from './run-end.js';
import { checkInlineStart, startCreated, startRun } from './run-start.js';
import { armClock } from './run-timeout.js';

/** The part of a DynamoDB stream record the master reads (the Lambda event and the local poller both give it). */
export interface ChangeRecord {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly SequenceNumber?: string;
    readonly NewImage?: Record<string, AttributeValue>;
    readonly OldImage?: Record<string, AttributeValue>;
  };
}

/**
 * Routes one change to the master: a new run starts (a queued one is admitted first); a task that just became terminal advances its
 * successors; a run that just finished wakes its parent. Everything else is ignored (the CDK stream
 * filter drops most of it before it reaches here).
 */
export async function onChange(deps: Deps, record: ChangeRecord): Promise<void> {
  const img = record.dynamodb?.NewImage;
  if (!img) return;
  let next: ReturnType<typeof unmarshall>;
  let prev: ReturnType<typeof unmarshall> | undefined;
  try {
    next = unmarshall(repairImage(img), unmarshallOptions());
    prev = record.dynamodb?.OldImage ? unmarshall(repairImage(record.dynamodb.OldImage), unmarshallOptions()) : undefined;
  } catch (err) {
    // A record that cannot be decoded never will be: retrying it would block its shard forever.
    // Skip it; the run watchdog re-drives whatever it would have advanced.
    deps.log.error({ err }, 'undecodable stream record skipped');
    return;
  }
  if (next.status === prev?.status) return;
  await emitEvents(deps, next, prev, record.dynamodb?.SequenceNumber);
  if (next.kind === 'run') {
    if (next.status === 'queued') return startRun(deps, next.runId);
    // Created running (nothing gates its start: start.ts): this record is its start.
    // One its creator started (`RunItem.inlineStart`): this record only checks that it did.
    if (next.status === 'running' && !prev) {
      return next.inlineStart === true
        ? checkInlineStart(deps, next as RunItem, record.dynamodb?.SequenceNumber)
        : startCreated(deps, next as RunItem);
    }
    if (next.status === 'running' && prev?.status === 'queued') return armClock(deps, next as RunItem);
    if (next.status === 'running' && prev?.status === 'paused') return void (await releaseHeld(deps, next.runId));
    if (next.status === 'running' && prev && TERMINAL_RUN.has(prev.status)) return applyRecovery(deps, next as RunItem);
    if (workMustStop(next as RunItem)) await onWorkMustStop(deps, next as RunItem);
    if (TERMINAL_RUN.has(next.status)) return onRunFinished(deps, next as RunItem);
  } else if (next.kind === 'task' && TERMINAL_TASK.has(next.status)) {
    // An ending whose worker advanced the run inline is re-driven by reads first (see AdvanceOptions).
    // This advance is the one for the ending's own record: it also counts the ending on counted joins.
    const reprocess = next.inlineAdvance === true;
    return advance(deps, next as TaskItem, { by: 'master', reprocess, sequence: record.dynamodb?.SequenceNumber, countJoins: true });
  }
}

/**
 * Notes the images of a batch of records before any of them is handled (`Deps.images`), so that the
 * re-processing of an inline ending learns from the records after it what the worker's advance already
 * told (`reprocess.ts`). Call it once per batch, with every record of the batch.
 */
export function noteBatch(deps: Deps, records: Iterable<ChangeRecord>): void {
  deps.images?.note(records);
}

/**
 * DynamoDB Local 3.x streams drop the type of an empty map: `{}` instead of `{ "M": {} }` (see
 * awslabs/amazon-dynamodb-local-samples#37). An attribute value with no type can only be that, so
 * restore it; real DynamoDB never sends one, so this changes nothing in AWS.
 */
function repairImage(img: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const fix = (v: AttributeValue): AttributeValue => {
    if (v === null || typeof v !== 'object') return v;
    if (Object.keys(v).length === 0) return { M: {} };
    if (v.M) return { M: repairImage(v.M) };
    if (v.L) return { L: v.L.map(fix) };
    return v;
  };
  return Object.fromEntries(Object.entries(img).map(([k, v]) => [k, fix(v)]));
}
