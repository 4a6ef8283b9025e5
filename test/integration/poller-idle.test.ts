import { randomBytes } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { log } from '../../functions/common/logger.js';
import { StreamPoller } from '../../functions/local/stream-poller.js';
import { clientDefaults, documentClient, dynamoClient } from '../../functions/store/client.js';
import { ensureTable } from '../../functions/store/table.js';
import { getTask } from '../../functions/store/tasks.js';
import { startHarness, useDynamo } from '../support/harness.js';

useDynamo();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An idle local stream poller backs off (each empty read doubles its pause up to `maxIdleMs`), so an idle
 * `npm start` or test harness does not keep DynamoDB Local busy; a write of the process's own wakes it.
 */
describe('the local stream poller while idle', () => {
  async function poller(idleMs: number, maxIdleMs: number, seen: string[]) {
    const table = `t${randomBytes(6).toString('hex')}`;
    const client = dynamoClient();
    await ensureTable(client, table);
    const streams = new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    let reads = 0;
    streams.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetRecordsCommand') reads++;
        return next(args);
      },
      { step: 'initialize', name: 'countReads' },
    );
    const p = new StreamPoller({
      streams,
      client,
      table,
      log,
      idleMs,
      maxIdleMs,
      onBatch: async (records) => {
        for (const r of records) seen.push(r.dynamodb?.Keys?.pk?.S ?? '?');
        return [];
      },
    });
    return { p, table, doc: documentClient(client), reads: () => reads };
  }

  it('reads an idle stream less and less often: a handful of reads in 2 s, not one every 10 ms', async () => {
    const seen: string[] = [];
    const { p, reads, doc, table } = await poller(10, 60_000, seen);
    p.start();
    try {
      // Pauses of 10, 20, 40, ... ms: at most 9 reads in the first 2.56 s, whatever the machine's speed
      // (a slower one reads less). A fixed 10 ms pause makes up to 200.
      await sleep(2000);
      expect(reads()).toBeGreaterThan(0);
      expect(reads()).toBeLessThanOrEqual(10);
      // The pause is now over a second long: a write the poller is told of is read at once.
      await doc.send(new PutCommand({ TableName: table, Item: { pk: 'woken', sk: 'x' } }));
      p.wake();
      const end = Date.now() + 20_000;
      while (seen.length === 0 && Date.now() < end) await sleep(20);
      expect(seen).toEqual(['woken']);
    } finally {
      await p.stop();
    }
  }, 30_000);

  it('stop() ends a long idle pause at once', async () => {
    const { p } = await poller(60_000, 60_000, []);
    p.start();
    await sleep(500);
    // Would wait out the 60 s pause (and time the test out) if the pause were not ended.
    await p.stop();
  }, 20_000);

  it("a runtime's own writes wake its poller: a run the master must start goes through with a 60 s idle pause", async () => {
    // Not started inline: the master's handling of the run's creation record queues its first task.
    const h = await startHarness({ BATON_INLINE_START: '0' }, { pollIdleMs: 60_000, pollMaxIdleMs: 60_000 });
    try {
      await h.request('PUT', '/workflows/woken', { name: 'woken', tasks: { a: { type: 'noop' }, b: { type: 'noop', after: 'a' } } });
      await sleep(300); // the poller's first read found the stream empty, or nothing new: it is pausing
      const start = await h.request('POST', '/workflows/woken/runs', {});
      expect(start.status).toBe(201);
      const run = await h.waitForRun(start.body.runId, 20_000);
      expect(run.status).toBe('succeeded');
      expect((await getTask(h.runtime.deps.db, run.runId, 'a'))?.promotedBy).toBe('master');
    } finally {
      await h.stop();
    }
  }, 40_000);
});
