import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

/** Names of the table's attributes and indexes; the CDK stack declares the same ones. */
export const TABLE = {
  pk: 'pk',
  sk: 'sk',
  /** Sparse, sharded index of items that need attention at a time: leases, timers, watchdogs. */
  dueIndex: 'due',
  dueShard: 'dueShard',
  dueAt: 'dueAt',
  /** Sparse index of runs by workflow, newest first. */
  runsIndex: 'runsByWorkflow',
  runsPk: 'wfPk',
  runsSk: 'wfSk',
  ttl: 'expiresAt',
} as const;

/** The attributes that put an item in the due index: removed together when it leaves. */
export const DUE_ATTRIBUTES: readonly string[] = [TABLE.dueAt, TABLE.dueShard];

export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE.pk, AttributeType: 'S' },
      { AttributeName: TABLE.sk, AttributeType: 'S' },
      { AttributeName: TABLE.dueShard, AttributeType: 'S' },
      { AttributeName: TABLE.dueAt, AttributeType: 'N' },
      { AttributeName: TABLE.runsPk, AttributeType: 'S' },
      { AttributeName: TABLE.runsSk, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE.pk, KeyType: 'HASH' },
      { AttributeName: TABLE.sk, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.dueIndex,
        KeySchema: [
          { AttributeName: TABLE.dueShard, KeyType: 'HASH' },
          { AttributeName: TABLE.dueAt, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: TABLE.runsIndex,
        KeySchema: [
          { AttributeName: TABLE.runsPk, KeyType: 'HASH' },
          { AttributeName: TABLE.runsSk, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status', 'runId', 'createdAt', 'endedAt', 'version', 'trigger'] },
      },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

/** Creates the table if it does not exist and waits until it is active. Used locally and by tests. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  for (let i = 0; i < 100; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttl, Enabled: true },
      }),
    );
  } catch {
    // Already enabled, or not supported by this endpoint: TTL only reclaims space, nothing depends on it.
  }
}
