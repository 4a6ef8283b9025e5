import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionLimitExceeded,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { AttemptTimeout, LeaseLost } from '../../functions/tasks/abort.js';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import { executionArn, executionName, parseExecutionName, stepfunctions } from '../../functions/tasks/stepfunctions.js';
import { withAws } from './ctx.js';

const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const runExecutor = withAws(lazyAwsClients({ sfn: client }));
const mock = mockClient(client);

const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
const RUN = 'r0abcdefgh0123456789abcdef';
const NOW = 1_700_000_000_000;
const arnOf = (attempt: number, task = 'step') => executionArn(SM, executionName(RUN, task, attempt));
const meta = { $metadata: { httpStatusCode: 400 } };
const starts = () => mock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

describe('stepfunctions executor against the Step Functions API', () => {
  beforeEach(() => mock.reset());

  it('starts one execution named after run, task and attempt, with the input, and suspends on it', async () => {
    mock.on(StartExecutionCommand).resolves({ executionArn: arnOf(1), startDate: new Date() });
    const out = await runExecutor(stepfunctions, { stateMachine: SM, input: { order: 42 } });
    expect(starts()).toEqual([{ stateMachineArn: SM, name: `${RUN}_1_step`, input: '{"order":42}' }]);
    expect(out).toEqual({ status: 'suspended', until: NOW + 60_000, state: { executionArn: arnOf(1) } });
    expect(arnOf(1)).toBe(`arn:aws:states:us-east-1:123456789012:execution:orders:${RUN}_1_step`);
  });

  it('the name is the same for every delivery of one attempt and different across attempts', async () => {
    mock.on(StartExecutionCommand).callsFake((i) => ({ executionArn: executionArn(SM, i.name) }));
    mock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'none', ...meta }));
    await runExecutor(stepfunctions, { stateMachine: SM }, { attempt: 1 });
    await runExecutor(stepfunctions, { stateMachine: SM }, { attempt: 1 });
    await runExecutor(stepfunctions, { stateMachine: SM }, { attempt: 2 });
    const names = starts().map((s) => s.name);
    expect(names[0]).toBe(names[1]);
    expect(names[2]).not.toBe(names[0]);
    expect(starts()[0]?.input).toBe('{}');
  });

  it('ExecutionAlreadyExists: adopts the existing execution (DescribeExecution by the derived ARN), never starts a second', async () => {
    mock.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', ...meta }));
    mock
      .on(DescribeExecutionCommand, { executionArn: arnOf(1) })
      .resolves({ executionArn: arnOf(1), status: 'RUNNING', stateMachineArn: SM });
    const out = await runExecutor(stepfunctions, { stateMachine: SM, pollInterval: '2m' });
    expect(out).toEqual({ status: 'suspended', until: NOW + 120_000, state: { executionArn: arnOf(1) } });
    expect(starts()).toHaveLength(1);

    // Adopted after it already ended: complete from it at once.
    mock
      .on(DescribeExecutionCommand, { executionArn: arnOf(1) })
      .resolves({ executionArn: arnOf(1), status: 'SUCCEEDED', output: '{"total":9}' });
    expect(await runExecutor(stepfunctions, { stateMachine: SM })).toEqual({ status: 'succeeded', output: { total: 9 } });
    expect(starts()).toHaveLength(2);
  });

  it("a retry stops the previous attempt's execution if it still runs (it timed out while its worker was gone), then starts its own", async () => {
    mock.on(DescribeExecutionCommand, { executionArn: arnOf(2) }).resolves({ executionArn: arnOf(2), status: 'RUNNING' });
    mock.on(StartExecutionCommand).resolves({ executionArn: arnOf(3) });
    mock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const out = await runExecutor(stepfunctions, { stateMachine: SM }, { attempt: 3 });
    expect(out).toMatchObject({ status: 'suspended', state: { executionArn: arnOf(3) } });
    expect(mock.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: arnOf(2), error: 'Baton.Superseded', cause: `Baton task step (run ${RUN}): attempt 2 is over; attempt 3 starts` },
    ]);
    expect(starts().map((s) => s.name)).toEqual([`${RUN}_3_step`]);
  });

  it('a retry after a failed (or never started) execution just starts its own', async () => {
    mock.on(DescribeExecutionCommand, { executionArn: arnOf(1) }).resolves({ executionArn: arnOf(1), status: 'FAILED' });
    mock.on(DescribeExecutionCommand, { executionArn: arnOf(2) }).rejects(new ExecutionDoesNotExist({ message: 'none', ...meta }));
    mock.on(StartExecutionCommand).callsFake((i) => ({ executionArn: executionArn(SM, i.name) }));
    await runExecutor(stepfunctions, { stateMachine: SM }, { attempt: 2 });
    await runExecutor(stepfunctions, { stateMachine: SM }, { attempt: 3 });
    expect(mock.commandCalls(StopExecutionCommand)).toHaveLength(0);
    expect(starts().map((s) => s.name)).toEqual([`${RUN}_2_step`, `${RUN}_3_step`]);
  });

  it('on resume it reads the status: RUNNING waits again; SUCCEEDED gives the output; FAILED/TIMED_OUT/ABORTED fail with error and cause', async () => {
    const state = { executionArn: arnOf(1) };
    const resume = () => runExecutor(stepfunctions, { stateMachine: SM }, { state });
    mock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: arnOf(1), status: 'RUNNING' })
      .resolvesOnce({ executionArn: arnOf(1), status: 'SUCCEEDED', output: '[1,2]' })
      .resolvesOnce({ executionArn: arnOf(1), status: 'FAILED', error: 'States.TaskFailed', cause: 'card declined' })
      .resolvesOnce({ executionArn: arnOf(1), status: 'TIMED_OUT', error: 'States.Timeout' })
      .resolvesOnce({ executionArn: arnOf(1), status: 'ABORTED' })
      // A throttled check keeps waiting on the same execution instead of failing the attempt.
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    expect(await resume()).toEqual({ status: 'suspended', until: NOW + 60_000, state });
    expect(await resume()).toEqual({ status: 'succeeded', output: [1, 2] });
    expect(await resume()).toEqual({
      status: 'failed',
      reason: 'execution_failed',
      message: `execution ${arnOf(1)} FAILED: States.TaskFailed: card declined`,
      retryable: true,
    });
    expect(await resume()).toMatchObject({ status: 'failed', reason: 'execution_timed_out', retryable: true });
    expect(await resume()).toMatchObject({ status: 'failed', reason: 'execution_aborted', retryable: false });
    expect(await resume()).toEqual({ status: 'suspended', until: NOW + 5_000, state });
    expect(starts()).toHaveLength(0);
  });

  it('start errors: throttling and limits are retryable, a missing state machine is not', async () => {
    mock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'none', ...meta }));
    mock
      .on(StartExecutionCommand)
      .rejectsOnce(new ExecutionLimitExceeded({ message: 'too many', ...meta }))
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }))
      .rejectsOnce(new StateMachineDoesNotExist({ message: 'no such machine', ...meta }));
    expect(await runExecutor(stepfunctions, { stateMachine: SM })).toMatchObject({ status: 'failed', retryable: true });
    expect(await runExecutor(stepfunctions, { stateMachine: SM })).toMatchObject({ status: 'failed', retryable: true });
    expect(await runExecutor(stepfunctions, { stateMachine: SM })).toMatchObject({
      status: 'failed',
      message: 'start: StateMachineDoesNotExist: no such machine',
      retryable: false,
    });
  });

  it('input over 256 KiB fails before any call', async () => {
    const out = await runExecutor(stepfunctions, { stateMachine: SM, input: { x: 'y'.repeat(256 * 1024) } });
    expect(out).toMatchObject({ status: 'failed', reason: 'input_too_large', retryable: false });
    expect(mock.calls()).toHaveLength(0);
  });

  it('a timeout stops the execution; a lost lease does not (the new holder of the attempt adopts it)', async () => {
    const state = { executionArn: arnOf(1) };
    let ac = new AbortController();
    mock.on(DescribeExecutionCommand).callsFake(() => {
      ac.abort(new AttemptTimeout());
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    mock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const out = await runExecutor(stepfunctions, { stateMachine: SM }, { state, signal: ac.signal });
    expect(out).toMatchObject({ status: 'failed', reason: 'timeout' });
    expect(mock.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: arnOf(1), error: 'Baton.Timeout', cause: `Baton task step (run ${RUN}, attempt 1) timed out` },
    ]);

    // Resumed after the deadline: the signal is already aborted when the attempt starts.
    mock.resetHistory();
    ac = new AbortController();
    ac.abort(new AttemptTimeout());
    await runExecutor(stepfunctions, { stateMachine: SM }, { state, signal: ac.signal });
    expect(mock.commandCalls(StopExecutionCommand)).toHaveLength(1);
    expect(mock.commandCalls(DescribeExecutionCommand)).toHaveLength(0);

    mock.resetHistory();
    ac = new AbortController();
    ac.abort(new LeaseLost());
    await runExecutor(stepfunctions, { stateMachine: SM }, { state, signal: ac.signal });
    expect(mock.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('an Express state machine is refused (it has no DescribeExecution)', async () => {
    mock.on(StartExecutionCommand).resolves({ executionArn: `arn:aws:states:us-east-1:123456789012:express:orders:${RUN}_1_step:abc` });
    expect(await runExecutor(stepfunctions, { stateMachine: SM })).toMatchObject({
      status: 'failed',
      reason: 'unsupported',
      retryable: false,
    });
  });

  it('the schema accepts state machine ARNs (and templates) only', () => {
    const ok = (c: unknown) => expect(stepfunctions.schema.safeParse(c).success, JSON.stringify(c)).toBe(true);
    const bad = (c: unknown) => expect(stepfunctions.schema.safeParse(c).success, JSON.stringify(c)).toBe(false);
    ok({ stateMachine: SM });
    ok({ stateMachine: `${SM}:prod` });
    ok({ stateMachine: 'arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:x' });
    ok({ stateMachine: '${params.machine}', input: '${tasks.a.output}' });
    bad({ stateMachine: 'orders' });
    bad({ stateMachine: 'arn:aws:lambda:us-east-1:123456789012:function:orders' });
    bad({ stateMachine: 'arn:aws:states:us-east-1:123456789012:execution:orders:x' });
    bad({ stateMachine: SM, pollInterval: '10ms' });
    bad({ stateMachine: SM, other: 1 });
  });
});

describe('execution names', () => {
  const taskName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/);
  const runId = fc.oneof(fc.stringMatching(/^r[0-9a-z]{9}[0-9a-f]{16}$/), fc.stringMatching(/^k[0-9a-f]{25}$/));
  const attempt = fc.integer({ min: 1, max: 200 });

  it('fit Step Functions (≤ 80 chars, CloudWatch-safe), are stable, distinct per attempt and task, and lead back to the task', () => {
    fc.assert(
      fc.property(runId, taskName, taskName, attempt, (r, t, u, a) => {
        const n = executionName(r, t, a);
        expect(n.length).toBeLessThanOrEqual(80);
        expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(executionName(r, t, a)).toBe(n);
        expect(executionName(r, t, a + 1)).not.toBe(n);
        if (u !== t) expect(executionName(r, u, a)).not.toBe(n);
        const p = parseExecutionName(n);
        expect(p).toBeDefined();
        expect(p?.runId).toBe(r);
        expect(p?.attempt).toBe(a);
        if (p?.task !== t) expect(t.startsWith(p?.prefix as string)).toBe(true);
      }),
    );
  });

  it('an odd run id still gives a stable valid name, which events cannot resolve', () => {
    const n = executionName('run with spaces/and:colons', 'task', 1);
    expect(n).toMatch(/^baton_[0-9a-f]{40}$/);
    expect(parseExecutionName(n)).toBeUndefined();
    expect(parseExecutionName('some-other-execution')).toBeUndefined();
    expect(parseExecutionName('4f6c2a9e-0d1b-4c55-9a0e-1e2f3a4b5c6d')).toBeUndefined();
  });
});
