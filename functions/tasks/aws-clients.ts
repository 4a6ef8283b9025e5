import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';

/**
 * The AWS SDK clients the `lambda` and `stepfunctions` task types call. Executors get them through
 * their context (`ctx.aws`), from `Deps.aws`; tests hand in clients of their own there.
 */
export interface AwsClients {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
}

/**
 * Clients created on first use (a worker that never runs those types never builds them), unless given.
 * Endpoints follow the SDK's own environment variables: `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_SFN`
 * (e.g. LocalStack).
 */
export function lazyAwsClients(given: Partial<AwsClients> = {}): AwsClients {
  let lambda = given.lambda;
  let sfn = given.sfn;
  return {
    get lambda() {
      lambda ??= new LambdaClient({});
      return lambda;
    },
    get sfn() {
      sfn ??= new SFNClient({});
      return sfn;
    },
  };
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
