import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type RunItem, type TaskItem, TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import type { Deps } from './deps.js';
import { advance, onRunFinished, startRun } from './master.js';

/** The part of a DynamoDB stream record the master reads (the Lambda event and the local poller both give it). */
export interface ChangeRecord {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly NewImage?: Record<string, AttributeValue>;
    readonly OldImage?: Record<string, AttributeValue>;
  };
}

/**
 * Routes one change to the master: a new run starts; a task that just became terminal advances its
 * successors; a run that just finished wakes its parent. Everything else is ignored (the CDK stream
 * filter drops most of it before it reaches here).
 */
export async function onChange(deps: Deps, record: ChangeRecord): Promise<void> {
  const img = record.dynamodb?.NewImage;
  if (!img) return;
  const next = unmarshall(img);
  const prev = record.dynamodb?.OldImage ? unmarshall(record.dynamodb.OldImage) : undefined;
  if (next.status === prev?.status) return;
  if (next.kind === 'run') {
    if (next.status === 'queued') return startRun(deps, next.runId);
    if (TERMINAL_RUN.has(next.status)) return onRunFinished(deps, next as RunItem);
  } else if (next.kind === 'task' && TERMINAL_TASK.has(next.status)) {
    return advance(deps, next as TaskItem);
  }
}
