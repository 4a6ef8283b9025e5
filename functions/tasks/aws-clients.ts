import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';

/**
 * The AWS SDK clients the `lambda` and `stepfunctions` task types call, created on first use (a
 * worker that never runs those types never builds them). Endpoints follow the SDK's own
 * environment variables: `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_SFN` (e.g. LocalStack).
 * Tests replace them with `setAwsClients`.
 */
export interface AwsClients {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
}

let lambda: LambdaClient | undefined;
let sfn: SFNClient | undefined;

export function lambdaClient(): LambdaClient {
  lambda ??= new LambdaClient({});
  return lambda;
}

export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}

/** Injects clients (tests); `undefined` for one of them drops it so the next use builds a default one. */
export function setAwsClients(clients: Partial<AwsClients>): void {
  if ('lambda' in clients) lambda = clients.lambda;
  if ('sfn' in clients) sfn = clients.sfn;
}

/** What the task types need to know about an error the SDK threw. */
export interface AwsFailure {
  readonly name: string;
  readonly message: string;
  readonly retryable: boolean;
}

/**
 * Classifies an SDK error: throttling, server faults and network errors are retryable; errors the
 * caller caused (missing function, bad input, access denied, no credentials) are not, because the
 * next attempt would meet them again.
 */
export function classifyAwsError(err: unknown, permanent: ReadonlySet<string> = new Set()): AwsFailure {
  const e = err as Error & {
    $fault?: 'client' | 'server';
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    code?: string;
  };
  const name = e?.name ?? 'Error';
  const message = e?.message ?? String(err);
  if (permanent.has(name)) return { name, message, retryable: false };
  if (name === 'CredentialsProviderError' || /credential/i.test(name)) {
    return { name, message: `no AWS credentials: ${message}`, retryable: false };
  }
  const status = e?.$metadata?.httpStatusCode;
  if (e?.$retryable || e?.$fault === 'server' || status === 429 || (status !== undefined && status >= 500)) {
    return { name, message, retryable: true };
  }
  if (/throttl|toomanyrequests|limitexceeded/i.test(name)) return { name, message, retryable: true };
  // No HTTP status at all: the request never got an answer (network, DNS, socket reset).
  if (status === undefined) return { name, message, retryable: true };
  return { name, message, retryable: false };
}
