import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseCallbackToken } from '../../functions/orchestrator/callback-token.js';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import { lambda } from '../../functions/tasks/lambda.js';
import { withAws } from './ctx.js';

// No local mapping: every call goes to the (mocked) Lambda API. Only request shapes and error
// handling are checked here; behaviour runs for real in lambda-local.test.ts.
delete process.env.BATON_LAMBDA_MAP;
const client = new LambdaClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const runExecutor = withAws(lazyAwsClients({ lambda: client }));
const mock = mockClient(client);

// The SDK types the payload as its blob adapter; a plain Uint8Array is what the executor reads.
const bytes = (s: string) => new Uint8Array(Buffer.from(s)) as InvokeCommandOutput['Payload'];
const json = (v: unknown) => bytes(JSON.stringify(v));
const sent = (i = 0) => mock.commandCalls(InvokeCommand)[i]?.args[0].input;
const sentPayload = (i = 0) => JSON.parse(Buffer.from(sent(i)?.Payload as Uint8Array).toString('utf8'));
const meta = { $metadata: {} };

describe('lambda, sync (RequestResponse) against the Lambda API', () => {
  beforeEach(() => mock.reset());

  it('sends name, qualifier, InvocationType and the payload with the Baton context (no token); the JSON result is the output', async () => {
    mock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json({ ok: true, n: 3 }), ExecutedVersion: '7' });
    const out = await runExecutor(lambda, {
      function: 'arn:aws:lambda:eu-west-1:123456789012:function:resize',
      qualifier: 'prod',
      payload: { key: 'a.png' },
    });
    expect(out).toEqual({ status: 'succeeded', output: { ok: true, n: 3 } });
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(1);
    expect(sent()).toMatchObject({
      FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:resize',
      Qualifier: 'prod',
      InvocationType: 'RequestResponse',
    });
    expect(sentPayload()).toEqual({
      key: 'a.png',
      baton: { runId: 'r0abcdefgh0123456789abcdef', task: 'step', attempt: 1, idempotencyKey: 'r0abcdefgh0123456789abcdef/step/1' },
    });
  });

  it('an empty or non-JSON result is kept as null or text', async () => {
    mock
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: bytes('') })
      .resolvesOnce({ StatusCode: 200, Payload: bytes('plain') });
    expect(await runExecutor(lambda, { function: 'f' })).toEqual({ status: 'succeeded', output: null });
    expect(await runExecutor(lambda, { function: 'f' })).toEqual({ status: 'succeeded', output: 'plain' });
  });

  it('a function error fails the attempt with the error type and message (retryable per the policy)', async () => {
    mock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: json({ errorType: 'KeyError', errorMessage: "'bucket'", trace: ['...'] }),
    });
    const out = await runExecutor(lambda, { function: 'f' });
    expect(out).toEqual({ status: 'failed', reason: 'function_error', message: "KeyError: 'bucket'" });
  });

  it('throttling and service errors are retryable; a missing function is not', async () => {
    mock
      .on(InvokeCommand)
      .rejectsOnce(
        new TooManyRequestsException({ message: 'Rate exceeded', ...meta, Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }),
      )
      .rejectsOnce(new ServiceException({ message: 'internal', $metadata: { httpStatusCode: 500 } }))
      .rejectsOnce(new ResourceNotFoundException({ message: 'Function not found: f', $metadata: { httpStatusCode: 404 } }));
    expect(await runExecutor(lambda, { function: 'f' })).toMatchObject({ status: 'failed', reason: 'throttled', retryable: true });
    expect(await runExecutor(lambda, { function: 'f' })).toMatchObject({ status: 'failed', reason: 'aws_error', retryable: true });
    expect(await runExecutor(lambda, { function: 'f' })).toMatchObject({
      status: 'failed',
      reason: 'aws_error',
      message: 'ResourceNotFoundException: Function not found: f',
      retryable: false,
    });
  });

  it('a payload over 6 MB fails with a clear reason before anything is called', async () => {
    const out = await runExecutor(lambda, { function: 'f', payload: { blob: 'x'.repeat(6 * 1024 * 1024) } });
    expect(out).toMatchObject({ status: 'failed', reason: 'payload_too_large', retryable: false });
    expect((out as { message: string }).message).toMatch(/synchronous invocation payload is \d+ bytes; Lambda accepts at most 6291456/);
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('an abort (timeout) ends the attempt', async () => {
    const ac = new AbortController();
    mock.on(InvokeCommand).callsFake(() => {
      ac.abort(new Error('timeout'));
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    expect(await runExecutor(lambda, { function: 'f' }, { signal: ac.signal })).toMatchObject({ status: 'failed', reason: 'aborted' });
  });

  it('the schema refuses what Lambda would refuse', () => {
    const bad = (c: unknown) => expect(lambda.schema.safeParse(c).success, JSON.stringify(c)).toBe(false);
    bad({ function: 'has space' });
    bad({ function: 'f', qualifier: 'a:b' });
    bad({ function: 'f', payload: [1, 2] });
    bad({ function: 'f', payload: { baton: {} } });
    bad({ function: 'f', mode: 'fire' });
    bad({ function: 'f', extra: 1 });
    expect(lambda.schema.safeParse({ function: '${params.fn}', payload: '${tasks.a.output}' }).success).toBe(true);
    expect(lambda.schema.parse({ function: 'f' })).toEqual({ function: 'f', mode: 'sync' });
  });
});

describe('lambda, async (Event) against the Lambda API', () => {
  beforeEach(() => mock.reset());

  it('invokes with InvocationType Event, a callback token in the payload, and suspends with only the token hash', async () => {
    mock.on(InvokeCommand).resolves({ StatusCode: 202 });
    process.env.BATON_API_URL = 'https://api.example.com/';
    const out = await runExecutor(lambda, { function: 'etl', mode: 'async', payload: { day: '2024-01-01' } }, { attempt: 3 });
    delete process.env.BATON_API_URL;
    expect(sent()).toMatchObject({ FunctionName: 'etl', InvocationType: 'Event' });
    const p = sentPayload();
    expect(p.day).toBe('2024-01-01');
    expect(p.baton).toMatchObject({ runId: 'r0abcdefgh0123456789abcdef', task: 'step', attempt: 3 });
    expect(parseCallbackToken(p.baton.callbackToken)).toEqual({ runId: 'r0abcdefgh0123456789abcdef', task: 'step', attempt: 3 });
    expect(p.baton.callbackUrl).toBe(`https://api.example.com/callbacks/${p.baton.callbackToken}`);
    expect(out.status).toBe('suspended');
    const state = (out as { state: any }).state;
    expect(state).toMatchObject({ mode: 'async', tokenHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(state)).not.toContain(p.baton.callbackToken);
    expect((out as { until?: number }).until).toBeUndefined();
  });

  it('a resumed attempt never invokes again: it waits on, or ends from the recorded callback', async () => {
    const state = { mode: 'async', tokenHash: 'h', invokedAt: 1 };
    expect(await runExecutor(lambda, { function: 'etl', mode: 'async' }, { state })).toEqual({ status: 'suspended', state });
    expect(
      await runExecutor(lambda, { function: 'etl', mode: 'async' }, { state: { ...state, callback: { output: [1], at: 2 } } }),
    ).toEqual({
      status: 'succeeded',
      output: [1],
    });
    expect(
      await runExecutor(lambda, { function: 'etl', mode: 'async' }, { state: { ...state, callback: { error: { message: 'no' }, at: 2 } } }),
    ).toEqual({ status: 'failed', reason: 'callback', message: 'no', retryable: undefined });
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('a payload over 1 MB fails before the call; a throttled Event invoke is retryable', async () => {
    const big = await runExecutor(lambda, { function: 'etl', mode: 'async', payload: { b: 'x'.repeat(1024 * 1024) } });
    expect(big).toMatchObject({ status: 'failed', reason: 'payload_too_large', retryable: false });
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(0);
    mock.on(InvokeCommand).rejects(new TooManyRequestsException({ message: 'slow down', ...meta }));
    expect(await runExecutor(lambda, { function: 'etl', mode: 'async' })).toMatchObject({ status: 'failed', retryable: true });
  });

  it('each attempt gets its own token', async () => {
    mock.on(InvokeCommand).resolves({ StatusCode: 202 });
    await runExecutor(lambda, { function: 'etl', mode: 'async' }, { attempt: 1 });
    await runExecutor(lambda, { function: 'etl', mode: 'async' }, { attempt: 2 });
    const [a, b] = [sentPayload(0).baton, sentPayload(1).baton];
    expect(a.callbackToken).not.toBe(b.callbackToken);
    expect([a.idempotencyKey, b.idempotencyKey]).toEqual(['r0abcdefgh0123456789abcdef/step/1', 'r0abcdefgh0123456789abcdef/step/2']);
  });
});
