import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';

/** The only DynamoDB item actions the engine uses (see `functions/store/`); no Scan, no batch, no transaction. */
export type TableAction = 'GetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/**
 * One permission on the table: some actions, limited to items whose partition key matches one of
 * `partitions` (IAM `StringLike` patterns on `dynamodb:LeadingKeys`), or a Query on one index.
 */
export type TableGrant =
  | { readonly actions: readonly TableAction[]; readonly partitions: readonly string[] }
  | { readonly queryIndex: string };

/**
 * Turns grants into policy statements. Item grants carry a `ForAllValues:StringLike` condition on
 * `dynamodb:LeadingKeys`; every granted action names its partition key in the request, so the
 * condition is never vacuously true (that would take Scan or BatchGetItem, which no grant has).
 * Index grants name the index ARN and carry no key condition: the index partition keys are not the
 * table's, and the indexes project only keys (`due`) or run summaries (`runsByWorkflow`).
 */
export function tableStatements(table: ITable, grants: readonly TableGrant[]): iam.PolicyStatement[] {
  return grants.map((g) => {
    if ('queryIndex' in g) {
      return new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${g.queryIndex}`] });
    }
    return new iam.PolicyStatement({
      actions: g.actions.map((a) => `dynamodb:${a}`),
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...g.partitions] } },
    });
  });
}
