import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ensureError } from '../common/errors.js';
import { METRICS } from '../common/metrics.js';
import type { TaskError } from '../store/items.js';
import { noteRecordFailure, parkRecord } from '../store/parked.js';
import { finishRun } from '../store/runs.js';
import { isTransient } from '../store/transient.js';
import { UnstorableError } from '../store/unstorable.js';
import type { Deps } from './deps.js';
import { type ChangeRecord, onChange } from './stream.js';

/** A stream record as both the Lambda event and the local poller give it: the change, and its identity. */
export interface StreamRecord extends ChangeRecord {
  readonly eventID?: string;
  readonly dynamodb?: ChangeRecord['dynamodb'] & { readonly SequenceNumber?: string };
}

/**
 * Failed handlings of one stream record before it is parked (`BATON_STREAM_MAX_ATTEMPTS`, default 5).
 * Keep it below the event source mapping's retry attempts, so that in AWS the record is parked (and
 * its run failed) before the mapping gives up on it.
 */
export function maxRecordAttempts(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BATON_STREAM_MAX_ATTEMPTS;
  const n = raw === undefined || raw === '' ? 5 : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`environment variable BATON_STREAM_MAX_ATTEMPTS must be an integer >= 1, got ${raw}`);
  return n;
}

/** Stands in for a run's failed task when the run itself could not go on. */
const RUN_ITSELF = '(run)';

/**
 * Hands one stream record to the master, so that no record can hold up its shard forever:
 * - data the table refuses (`UnstorableError`) fails the record's run at once, with a reason naming it;
 * - a transient error (throttling, a server fault, the network) is rethrown and retried for as long as it
 *   lasts, uncounted;
 * - any other error is counted in the table and rethrown, so the caller retries the record (with
 *   backoff locally, by the event source in AWS); after `maxAttempts` failed handlings the record is
 *   parked, its run fails with reason `engine_error` and the error, and the record counts as handled;
 * - a parked record that comes again (a restart replaying the stream) is skipped at its first failure.
 */
export async function handleRecord(deps: Deps, record: StreamRecord, maxAttempts: number): Promise<void> {
  try {
    await onChange(deps, record);
  } catch (caught) {
    const err = ensureError(caught);
    const { runId, task } = whose(record);
    const sequence = record.dynamodb?.SequenceNumber;
    if (err instanceof UnstorableError && runId) {
      const failure: RunFailure = {
        task: task ?? RUN_ITSELF,
        reason: `run_${err.kind}`,
        message: `the run's data cannot be stored: ${err.detail}`,
      };
      deps.log.error({ err, run: runId, task, sequence, cause: failure.reason }, 'run data cannot be stored; failing the run');
      await failRun(deps, runId, failure);
      return;
    }
    const recordId = record.eventID ?? sequence;
    // An unwell table is waited out (the caller retries with backoff), not held against the record.
    if (!recordId || isTransient(err)) throw err;
    const noted = await noteRecordFailure(deps.db, { recordId, sequence, runId, task, error: err.stack ?? err.message }, deps.now());
    const failure: RunFailure = { task: task ?? RUN_ITSELF, reason: 'engine_error', message: err.message };
    if (!noted) {
      // Parked before (a replay after a restart, or a crash between parking and failing the run):
      // make sure its run failed, and skip the record.
      deps.log.debug({ run: runId, task, sequence, recordId }, 'parked stream record skipped');
      if (runId) await failRun(deps, runId, failure);
      return;
    }
    if (noted.failures < maxAttempts) throw err;
    if (await parkRecord(deps.db, recordId, deps.now())) {
      deps.metrics?.count(METRICS.recordsParked, 1);
      deps.log.error(
        { err, run: runId, task, sequence, recordId, failures: noted.failures, cause: 'engine_error', parked: true },
        'stream record parked after failing every attempt; failing its run',
      );
    }
    if (runId) await failRun(deps, runId, failure);
  }
}

type RunFailure = TaskError & { readonly task: string };

async function failRun(deps: Deps, runId: string, failure: RunFailure) {
  const done = await finishRun(deps.db, runId, 'failed', deps.now(), undefined, failure);
  if (done) deps.log.info({ run: runId, to: 'failed', failure }, 'run transition');
}

/** The run (and task) a record is about, read from its images without decoding them (they may not decode). */
function whose(record: StreamRecord): { runId?: string; task?: string } {
  const img: Record<string, AttributeValue> | undefined = record.dynamodb?.NewImage ?? record.dynamodb?.OldImage;
  const runId = img?.runId?.S;
  const task = img?.kind?.S === 'task' ? img.name?.S : undefined;
  return { runId, task };
}
