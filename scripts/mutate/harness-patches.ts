/**
 * Changes made to the repository copy before any mutant, so that a mutant means what it says:
 * - the document client drops expression placeholders that no expression uses any more (DynamoDB
 *   rejects unused ones, which would "kill" a removed condition for the wrong reason), and an empty
 *   condition;
 * - `Db.createIf(guarded, item)`: a put with or without its `attribute_not_exists` condition, so that a
 *   mutant can make one caller's put unconditional without touching the others.
 * None of this is in the product: it exists only in the copy the mutation run builds.
 */
export const HARNESS_PATCHES: readonly { file: string; find: string; replace: string }[] = [
  {
    file: 'functions/store/client.ts',
    find: 'export function documentClient(',
    replace: `export function documentClient(client?: DynamoDBClient): DynamoDBDocumentClient {
  const d = documentClientUnpruned(client);
  d.middlewareStack.add(
    (next) => async (args) => {
      pruneUnused(args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'initialize', name: 'mutationPrune' },
  );
  return d;
}

function pruneUnused(input: Record<string, unknown>) {
  if (input.ConditionExpression === '') delete input.ConditionExpression;
  const text = ['UpdateExpression', 'ConditionExpression', 'KeyConditionExpression', 'FilterExpression', 'ProjectionExpression']
    .map((k) => (typeof input[k] === 'string' ? input[k] : ''))
    .join(' ');
  for (const field of ['ExpressionAttributeNames', 'ExpressionAttributeValues']) {
    const map = input[field] as Record<string, unknown> | undefined;
    if (!map) continue;
    for (const k of Object.keys(map)) {
      const used = new RegExp(\`\${k.replace(/[#:]/g, '\\\\$&')}(?![A-Za-z0-9_])\`).test(text);
      if (!used) delete map[k];
    }
    if (Object.keys(map).length === 0) delete input[field];
  }
}

function documentClientUnpruned(`,
  },
  {
    file: 'functions/store/db.ts',
    find: '  /** Puts an item only if no item has its key. Returns false if one already did. */',
    replace: `  /** Mutation harness: a put that keeps its condition only when \`guarded\`. */
  async createIf(guarded: boolean, item: Key & Record<string, unknown>): Promise<boolean> {
    if (guarded) return this.create(item);
    await this.doc.send(new PutCommand({ TableName: this.table, Item: item }));
    return true;
  }

  /** Puts an item only if no item has its key. Returns false if one already did. */`,
  },
];
