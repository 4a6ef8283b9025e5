import { randomBytes } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient } from '../../functions/store/client.js';
import { keys } from '../../functions/store/items.js';
import { listParked } from '../../functions/store/parked.js';
import { createRun, getRun } from '../../functions/store/runs.js';
import { ensureTable } from '../../functions/store/table.js';
import { useDynamo } from '../support/harness.js';

useDynamo();
const table = `t${randomBytes(6).toString('hex')}`;
// The handlers read their configuration from the environment once, as in Lambda.
process.env.BATON_TABLE = table;
process.env.BATON_STREAM_MAX_ATTEMPTS = '2';
const { handler: master } = await import('../../functions/handlers/master.js');
const { handler: timer } = await import('../../functions/handlers/timer.js');
const { awsDeps } = await import('../../functions/handlers/aws.js');
const context = { functionName: 'test', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** A run that can never start: the definition version it pins does not exist. */
async function poisonRun(createdAt = Date.now()) {
  const runId = `poison-${randomBytes(4).toString('hex')}`;
  await createRun(awsDeps().db, { runId, workflow: 'missing', version: 7, params: {}, createdAt, trigger: { type: 'api' }, depth: 0 });
  return (await getRun(awsDeps().db, runId)) as NonNullable<Awaited<ReturnType<typeof getRun>>>;
}

const streamRecord = (seq: string, image: object): DynamoDBRecord =>
  ({
    eventID: `ev-${seq}-${table}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: { SequenceNumber: seq, NewImage: marshall(image as Record<string, unknown>, { removeUndefinedValues: true }) },
  }) as DynamoDBRecord;

const sqsRecord = (id: string, body: string): SQSRecord => ({ messageId: id, body }) as SQSRecord;

/**
 * The Lambda handlers over DynamoDB Local, with Lambda's event shapes: Powertools batch processing
 * reports failures per record, and the master parks a poison record after its bounded attempts.
 */
describe('the master and timer handlers, one record at a time', () => {
  beforeAll(async () => {
    await ensureTable(dynamoClient(), table);
  });

  it('master: only the poison record is reported failed; after BATON_STREAM_MAX_ATTEMPTS it is parked and its run failed', async () => {
    const run = await poisonRun();
    // A task inserted queued: nothing for the master to act on (an inserted running run is a start now).
    const harmless = { ...run, runId: 'other', kind: 'task', name: 'a', status: 'queued' };
    const event = { Records: [streamRecord('100', run), streamRecord('101', harmless)] };
    expect(await master(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: '100' }] });
    expect((await getRun(awsDeps().db, run.runId))?.status).toBe('queued');
    // The event source retries the batch from the failed record; this time it is parked.
    expect(await master(event, context)).toEqual({ batchItemFailures: [] });
    const failed = await getRun(awsDeps().db, run.runId);
    expect(failed?.status).toBe('failed');
    expect(failed?.failure).toMatchObject({ task: '(run)', reason: 'engine_error' });
    expect(failed?.failure?.message).toMatch(/definition missing v7 not found/);
    const parked = (await listParked(awsDeps().db)).filter((p) => p.runId === run.runId);
    expect(parked).toMatchObject([{ failures: 2, sequence: '100' }]);
    expect(parked[0]?.parkedAt).toBeGreaterThan(0);
    // Delivered again (a replay): handled as done, not retried.
    expect(await master({ Records: [streamRecord('100', run)] }, context)).toEqual({ batchItemFailures: [] });
  });

  it('timer: malformed messages are parked and dropped, a failing wake-up is reported alone, good ones are handled', async () => {
    const run = await poisonRun(Date.now() - 3_600_000); // due long ago: waking it tries to start it, which throws
    const good = await poisonRun();
    const event = {
      Records: [
        sqsRecord('not-json', 'not json at all'),
        sqsRecord('wrong-shape', JSON.stringify({ pk: 1 })),
        sqsRecord('fails', JSON.stringify(keys.run(run.runId))),
        sqsRecord('not-due', JSON.stringify(keys.run(good.runId))),
        sqsRecord('gone', JSON.stringify({ pk: 'RUN#nothing', sk: 'RUN' })),
      ],
    };
    expect(await timer(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'fails' }] });
  });
});
