import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The DynamoDB client. The SDK itself honours AWS_ENDPOINT_URL_DYNAMODB and AWS_REGION; when the
 * endpoint is a local one and no credentials are configured, dummy credentials are supplied so
 * that DynamoDB Local works on a machine with no AWS setup.
 */
export function dynamoClient(extra: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...clientDefaults(), maxAttempts: 5, ...extra });
}

/** Region and, for a local endpoint without configured credentials, dummy credentials. */
export function clientDefaults(): { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL;
  const local = endpoint !== undefined && /localhost|127\.0\.0\.1|\[::1\]/.test(endpoint);
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (local ? 'us-east-1' : undefined);
  if (local && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
    return { region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  }
  return { region };
}

/**
 * Baton's data is JSON, so every number is a JavaScript double. DynamoDB stores any of them that the
 * edge limits let through (magnitude up to 9.9e125), but the SDK refuses to write an integer beyond
 * 2^53 (it fears precision loss) and reads one back as a BigInt, which JSON.stringify cannot write:
 * a run carrying 2^53 in its params or outputs would fail with a 500 or wedge on read. The value is
 * already a double, so nothing is lost by writing it as one and reading it back as one.
 */
export const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: true, allowImpreciseNumbers: true } as const;
/** See `MARSHALL_OPTIONS`: numbers come back as doubles, never as BigInt. */
export const UNMARSHALL_OPTIONS = { wrapNumbers: (value: string): number => Number(value) } as const;

export function documentClient(client: DynamoDBClient = dynamoClient()): DynamoDBDocumentClient {
  // Copies: lib-dynamodb writes `convertWithoutMapWrapper: true` into the options it is given, which
  // would make the shared constant unwrap stream images wrongly (every record "undecodable").
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { ...MARSHALL_OPTIONS },
    unmarshallOptions: { ...UNMARSHALL_OPTIONS },
  });
}
