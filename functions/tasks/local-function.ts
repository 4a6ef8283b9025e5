/**
 * What an executor sees of an in-process stand-in for a Lambda function. The local runtime supplies
 * one (`local/lambda-mapping.ts`, from `BATON_LAMBDA_MAP`); in AWS there is none, so the `lambda`
 * type always calls the Lambda API and never reads a mapping.
 */

/** The Lambda context object a local handler receives, with the fields handlers commonly read. */
export interface LocalLambdaContext {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly awsRequestId: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export type LocalHandler = (event: unknown, context: LocalLambdaContext) => unknown;

export interface LocalFunction {
  /** The map key that matched. */
  readonly key: string;
  /** `module#export`, for messages. */
  readonly target: string;
  readonly handler: LocalHandler;
}

/** A mapping that names a function but cannot be loaded: a configuration error, not worth a retry. */
export class LambdaMapError extends Error {
  override readonly name = 'LambdaMapError';
}

/** The local runtime's stand-ins for Lambda functions. */
export interface LocalFunctions {
  /** The stand-in for a function name or ARN (and qualifier), or undefined to call the real one. Throws `LambdaMapError`. */
  resolve(fn: string, qualifier?: string): Promise<LocalFunction | undefined>;
  /** A Lambda context for one invocation that must end by `deadline` (epoch ms). */
  context(fn: string, qualifier: string | undefined, requestId: string, deadline: number): LocalLambdaContext;
}
