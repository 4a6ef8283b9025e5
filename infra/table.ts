import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE, tableDefinition } from '../functions/store/table.js';

export interface BatonTableProps {
  /** @default - a name CloudFormation generates */
  readonly tableName?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default true */
  readonly deletionProtection?: boolean;
}

/**
 * Baton's one table. Keys, indexes and stream come from `tableDefinition()`, the same description
 * that DynamoDB Local and the tests create, so the cloud table cannot drift from the engine's.
 */
export class BatonTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: BatonTableProps = {}) {
    super(scope, id);
    const def = tableDefinition('baton');
    const attr = (name: string): dynamodb.Attribute => {
      const type = def.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
      if (!type) throw new Error(`tableDefinition() declares no type for attribute ${name}`);
      return { name, type: type as dynamodb.AttributeType };
    };
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: attr(TABLE.pk),
      sortKey: attr(TABLE.sk),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TABLE.ttl,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const gsi of def.GlobalSecondaryIndexes ?? []) {
      const [hash, range] = gsi.KeySchema ?? [];
      if (!gsi.IndexName || !hash?.AttributeName) throw new Error('tableDefinition() has an index without a name or key');
      const projection = gsi.Projection?.ProjectionType as dynamodb.ProjectionType;
      this.table.addGlobalSecondaryIndex({
        indexName: gsi.IndexName,
        partitionKey: attr(hash.AttributeName),
        sortKey: range?.AttributeName ? attr(range.AttributeName) : undefined,
        projectionType: projection,
        nonKeyAttributes: projection === dynamodb.ProjectionType.INCLUDE ? gsi.Projection?.NonKeyAttributes : undefined,
      });
    }
  }
}
