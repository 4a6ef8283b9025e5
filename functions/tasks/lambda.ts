import { randomUUID } from 'node:crypto';
import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { ensureError } from '../common/errors.js';
import { log } from '../common/logger.js';
import type { CallbackState } from '../store/callbacks.js';
import { classifyAwsError } from './aws-clients.js';
import { type ExecContext, type Executor, type Outcome, templated } from './executor.js';
import { jsonOrText } from './json-text.js';
import { LambdaMapError, type LocalFunction } from './local-function.js';

/** Lambda's payload limits: 6 MB for a synchronous (RequestResponse) invocation, 1 MB for an asynchronous (Event) one. */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;

/** A function name, partial ARN or ARN, as Lambda's Invoke accepts it. */
const FUNCTION =
  /^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:)?(\d{12}:)?(function:)?[A-Za-z0-9_.-]{1,140}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

const schema = z
  .object({
    function: templated(z.string().max(256).regex(FUNCTION, 'a Lambda function name or ARN')),
    qualifier: templated(z.string().regex(/^(\$LATEST|[A-Za-z0-9_-]{1,128})$/, 'a version or alias')).optional(),
    /** The event (a JSON object). Baton adds its own context under the key `baton`. */
    payload: templated(
      z
        .record(z.string(), z.unknown())
        .refine((p) => !Object.hasOwn(p, 'baton'), { message: 'the key "baton" is reserved for Baton\'s context' }),
    ).optional(),
    mode: z.enum(['sync', 'async']).default('sync'),
  })
  .strict();

export type LambdaConfig = z.infer<typeof schema>;

/** What the function finds under `event.baton`. */
export interface BatonContext {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  /** Stable for one attempt: deduplicate on it. */
  readonly idempotencyKey: string;
  /** Async mode: report completion with `POST /callbacks/{callbackToken}`. */
  readonly callbackToken?: string;
  /** Async mode, when BATON_API_URL is set: the full URL to post the report to. */
  readonly callbackUrl?: string;
}

/** An asynchronous attempt's saved state: the token's hash, then the function's report. */
interface AsyncState extends CallbackState {
  readonly mode: 'async';
  readonly invokedAt: number;
}

const PERMANENT = new Set([
  'ResourceNotFoundException',
  'InvalidRequestContentException',
  'InvalidParameterValueException',
  'RequestTooLargeException',
  'UnsupportedMediaTypeException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidRuntimeException',
  'InvalidZipFileException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSNotFoundException',
  'RecursiveInvocationException',
]);

/**
 * Invokes a Lambda function. `sync` (RequestResponse): the function's JSON result is the output, a
 * function error fails the attempt. `async` (Event): the attempt suspends until the function reports
 * back through `POST /callbacks/{token}` (see orchestrator/callback.ts), so it may outlive 15 minutes.
 * The event carries `baton` (run, task, attempt, idempotency key, and the token in async mode).
 * Locally, functions named in the `BATON_LAMBDA_MAP` file run in-process instead (`ctx.localFunctions`).
 */
export const lambda: Executor<LambdaConfig> = {
  type: 'lambda',
  schema,
  async execute(ctx): Promise<Outcome> {
    if (ctx.config.mode === 'async') {
      const st = ctx.state as AsyncState | undefined;
      if (st?.callback) {
        const cb = st.callback;
        if ('error' in cb) {
          return {
            status: 'failed',
            reason: 'callback',
            message: cb.error.message,
            ...(cb.error.reason !== undefined && { callbackReason: cb.error.reason }),
            retryable: cb.error.retryable,
          };
        }
        return { status: 'succeeded', output: cb.output };
      }
      // Woken without a report (a periodic re-check): keep waiting.
      if (st?.tokenHash) return { status: 'suspended', state: st };
    }
    if (typeof ctx.config.payload === 'string') {
      return { status: 'failed', reason: 'invalid_config', message: 'payload must render to a JSON object', retryable: false };
    }
    let local: LocalFunction | undefined;
    try {
      local = await ctx.localFunctions?.resolve(ctx.config.function, ctx.config.qualifier);
    } catch (err) {
      if (err instanceof LambdaMapError) return { status: 'failed', reason: 'lambda_map', message: err.message, retryable: false };
      throw err;
    }
    return ctx.config.mode === 'async' ? invokeAsync(ctx, local) : invokeSync(ctx, local);
  },
};

/** The Lambda context for a local invocation (only called once `localFunctions` resolved the function). */
function localContextOf(ctx: ExecContext<LambdaConfig>, requestId: string, deadline: number) {
  return (ctx.localFunctions as NonNullable<typeof ctx.localFunctions>).context(
    ctx.config.function,
    ctx.config.qualifier,
    requestId,
    deadline,
  );
}

function batonContext(ctx: ExecContext<LambdaConfig>, extra: Partial<BatonContext> = {}): BatonContext {
  return { runId: ctx.runId, task: ctx.task, attempt: ctx.attempt, idempotencyKey: ctx.idempotencyKey, ...extra };
}

/** The rendered payload: an object (the schema admits a template string only before rendering). */
function payloadOf(config: LambdaConfig): Record<string, unknown> {
  return typeof config.payload === 'object' && config.payload !== null ? config.payload : {};
}

function tooLarge(event: unknown, limit: number, mode: string): { body: string; failure?: Outcome } {
  const body = JSON.stringify(event);
  const size = Buffer.byteLength(body);
  if (size <= limit) return { body };
  return {
    body,
    failure: {
      status: 'failed',
      reason: 'payload_too_large',
      message: `the ${mode} invocation payload is ${size} bytes; Lambda accepts at most ${limit}`,
      retryable: false,
    },
  };
}

async function invokeSync(ctx: ExecContext<LambdaConfig>, local: LocalFunction | undefined): Promise<Outcome> {
  const { config, signal } = ctx;
  const event = { ...payloadOf(config), baton: batonContext(ctx) };
  const { body, failure } = tooLarge(event, MAX_SYNC_PAYLOAD_BYTES, 'synchronous');
  if (failure) return failure;
  if (local) {
    const context = localContextOf(ctx, randomUUID(), ctx.startedAt + 15 * 60_000);
    try {
      // The same bytes Lambda would deliver: a JSON round trip, so the function cannot alias Baton's objects.
      const result = await untilAborted(Promise.resolve(local.handler(JSON.parse(body), context)), signal);
      return { status: 'succeeded', output: result === undefined ? null : JSON.parse(JSON.stringify(result)) };
    } catch (err) {
      if (signal.aborted) return aborted(signal);
      const e = ensureError(err);
      return { status: 'failed', reason: 'function_error', message: `${e.name}: ${e.message}` };
    }
  }
  let r: InvokeCommandOutput;
  try {
    r = await ctx.aws.lambda.send(
      new InvokeCommand({
        FunctionName: config.function,
        Qualifier: config.qualifier,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(body),
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    if (signal.aborted) return aborted(signal);
    return awsFailure(err);
  }
  const text = r.Payload ? Buffer.from(r.Payload).toString('utf8') : '';
  if (r.FunctionError) {
    const p = jsonOrText(text) as { errorType?: string; errorMessage?: string } | string | null;
    const type = (typeof p === 'object' && p?.errorType) || r.FunctionError;
    const message = (typeof p === 'object' && p?.errorMessage) || (typeof p === 'string' ? p : text);
    return { status: 'failed', reason: 'function_error', message: `${type}: ${message}` };
  }
  return { status: 'succeeded', output: jsonOrText(text) };
}

async function invokeAsync(ctx: ExecContext<LambdaConfig>, local: LocalFunction | undefined): Promise<Outcome> {
  const { config, signal } = ctx;
  const { token, tokenHash } = ctx.callbacks.mint();
  const api = process.env.BATON_API_URL?.replace(/\/+$/, '');
  const baton = batonContext(ctx, { callbackToken: token, callbackUrl: api ? `${api}/callbacks/${token}` : undefined });
  const event = { ...payloadOf(config), baton };
  const { body, failure } = tooLarge(event, MAX_ASYNC_PAYLOAD_BYTES, 'asynchronous');
  if (failure) return failure;
  const state: AsyncState = { mode: 'async', tokenHash, invokedAt: ctx.now() };
  if (local) {
    // Like an Event invocation: accepted at once, run in the background; only the callback counts.
    const context = localContextOf(ctx, randomUUID(), ctx.now() + 15 * 60_000);
    setImmediate(() => {
      Promise.resolve()
        .then(() => local.handler(JSON.parse(body), context))
        .catch((err) =>
          log.warn(
            { fn: local.target, run: ctx.runId, task: ctx.task, attempt: ctx.attempt, err },
            'local async function failed; no callback',
          ),
        );
    });
    return { status: 'suspended', state };
  }
  try {
    await ctx.aws.lambda.send(
      new InvokeCommand({
        FunctionName: config.function,
        Qualifier: config.qualifier,
        InvocationType: 'Event',
        Payload: Buffer.from(body),
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    if (signal.aborted) return aborted(signal);
    return awsFailure(err);
  }
  return { status: 'suspended', state };
}

function awsFailure(err: unknown): Outcome {
  const f = classifyAwsError(err, PERMANENT);
  const reason =
    f.name === 'RequestTooLargeException' ? 'payload_too_large' : f.name === 'TooManyRequestsException' ? 'throttled' : 'aws_error';
  return { status: 'failed', reason, message: `${f.name}: ${f.message}`, retryable: f.retryable };
}

function aborted(signal: AbortSignal): Outcome {
  return { status: 'failed', reason: 'aborted', message: String((signal.reason as Error)?.message ?? signal.reason) };
}

/** Settles with `p`, or rejects as soon as `signal` aborts (a local function cannot be stopped, only abandoned). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
