import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Engine } from '../lib/engine.js';
import { newTable, rawClient, waitRuns } from '../lib/env.js';
import { chain, fan } from '../lib/workflows.js';

/**
 * DynamoDB Local runs on the JVM: its first seconds are several times slower than steady state
 * (measured: a new-item write took ~70 ms cold, ~4 ms warm). Every suite runs after this warm-up.
 */
export async function warmUp(): Promise<void> {
  const config = await newTable();
  const engine = new Engine(config, { roles: { sweeper: false, scheduler: false }, pollIdleMs: 5 });
  try {
    await engine.putWorkflow(chain('warmchain', 30));
    await engine.putWorkflow(fan('warmfan', 60));
    for (let i = 0; i < 2; i++) {
      await waitRuns(
        config.table,
        await Promise.all([engine.startRun('warmchain'), engine.startRun('warmfan'), engine.startRun('warmfan')]),
      );
    }
  } finally {
    await engine.stop();
  }
  await endpointCapacity(2000);
}

export interface Capacity {
  concurrency: number;
  /** Conditional puts of new items (stream + GSI attributes, like a task's creation) per second. */
  writesPerSec: number;
  /** Strongly consistent GetItem per second. */
  readsPerSec: number;
}

/** What the endpoint itself sustains on this machine, for reading the throughput figures against. */
export async function endpointCapacity(ms = 3000, concurrency = 16): Promise<Capacity> {
  const config = await newTable();
  const c = rawClient();
  const load = async (op: (w: number, i: number) => Promise<unknown>) => {
    let n = 0;
    const end = Date.now() + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (Date.now() < end) await op(w, n++);
      }),
    );
    return n / (ms / 1000);
  };
  const writesPerSec = await load((w, i) =>
    c.send(
      new PutItemCommand({
        TableName: config.table,
        Item: {
          pk: { S: `RUN#cap${w}` },
          sk: { S: `TASK#${i}` },
          kind: { S: 'task' },
          status: { S: 'queued' },
          dueAt: { N: String(Date.now() + 30_000) },
          dueShard: { S: `DUE#${i % 4}` },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
  const readsPerSec = await load((w, i) =>
    c.send(
      new GetItemCommand({ TableName: config.table, Key: { pk: { S: `RUN#cap${w}` }, sk: { S: `TASK#${i % 50}` } }, ConsistentRead: true }),
    ),
  );
  return { concurrency, writesPerSec, readsPerSec };
}
