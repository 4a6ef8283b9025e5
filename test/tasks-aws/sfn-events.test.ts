import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SfnStatusEvent, sfnEventsHandler } from '../../functions/handlers/sfn-events.js';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import { executionArn, executionName } from '../../functions/tasks/stepfunctions.js';
import { type Harness, startHarness } from '../support/harness.js';

// Step Functions itself has no local stand-in here: its API is mocked at the SDK edge (request
// shapes only). Everything on Baton's side — DynamoDB Local, worker, master, sweeper, the event
// handler — is real.
const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const sfn = mockClient(client);

const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
/** What DescribeExecution answers, per execution ARN; the test moves executions along. */
const executions = new Map<string, Partial<DescribeExecutionCommandOutput>>();
sfn.on(StartExecutionCommand).callsFake((input) => {
  const arn = executionArn(input.stateMachineArn, input.name);
  if (!executions.has(arn)) executions.set(arn, { executionArn: arn, status: 'RUNNING', input: input.input });
  return { executionArn: arn, startDate: new Date() };
});
sfn.on(DescribeExecutionCommand).callsFake((input) => {
  const e = executions.get(input.executionArn);
  if (!e) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist', $metadata: { httpStatusCode: 400 } });
  return e;
});

/** A real "Step Functions Execution Status Change" event, as EventBridge delivers it to Lambda. */
function statusEvent(arn: string, status: string, extra: Record<string, unknown> = {}): SfnStatusEvent {
  const name = arn.split(':').at(-1) as string;
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: '2024-05-02T10:15:30Z',
    region: 'us-east-1',
    resources: [arn],
    detail: {
      executionArn: arn,
      stateMachineArn: SM,
      name,
      status,
      startDate: 1714644900000,
      stopDate: status === 'RUNNING' ? null : 1714644930000,
      input: '{"order":42}',
      output: status === 'SUCCEEDED' ? '{"charged":true}' : null,
      inputDetails: { included: true },
      outputDetails: status === 'SUCCEEDED' ? { included: true } : null,
      error: status === 'FAILED' ? 'States.TaskFailed' : null,
      cause: status === 'FAILED' ? 'card declined' : null,
      ...extra,
    } as any,
  };
}

describe('Step Functions status-change events wake the waiting attempt (DynamoDB Local)', () => {
  let h: Harness;
  let handle: ReturnType<typeof sfnEventsHandler>;
  beforeAll(async () => {
    h = await startHarness({}, { deps: { aws: lazyAwsClients({ sfn: client }) } });
    handle = sfnEventsHandler(() => h.runtime.deps);
  });
  afterAll(() => h.stop());

  async function startRun(name: string, task: Record<string, unknown>) {
    // pollInterval 1h: only an event can wake the attempt within the test.
    const put = await h.request('PUT', `/workflows/${name}`, {
      name,
      tasks: { pay: { type: 'stepfunctions', stateMachine: SM, input: { order: 42 }, pollInterval: '1h', ...task } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', `/workflows/${name}/runs`, {});
    return start.body.runId as string;
  }

  async function waitTask(runId: string, pred: (t: any) => boolean, timeoutMs = 15_000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await h.request('GET', `/runs/${runId}`);
      const t = r.body.tasks[0];
      if (pred(t)) return t;
      if (Date.now() > end) throw new Error(`task not as expected: ${JSON.stringify(t)}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  it('SUCCEEDED: wakes the attempt, which reads the output; duplicates, late RUNNING events and strangers change nothing', async () => {
    const runId = await startRun('sfn-ok', {});
    await waitTask(runId, (t) => t.status === 'waiting');
    const arn = executionArn(SM, executionName(runId, 'pay', 1));
    expect(executions.get(arn)?.input).toBe('{"order":42}');

    expect(await handle(statusEvent(arn, 'RUNNING'))).toBe('ignored_status');
    // An execution Baton did not start; one whose name looks like Baton's but of another state machine.
    expect(await handle(statusEvent('arn:aws:states:us-east-1:123456789012:execution:orders:manual-run-7', 'SUCCEEDED'))).toBe(
      'ignored_unknown',
    );
    const lookalike = `arn:aws:states:us-east-1:123456789012:execution:billing:${executionName(runId, 'pay', 1)}`;
    expect(await handle(statusEvent(lookalike, 'SUCCEEDED'))).toBe('ignored_unknown');
    expect((await waitTask(runId, () => true)).status).toBe('waiting');

    executions.set(arn, { executionArn: arn, status: 'SUCCEEDED', output: '{"charged":true}' });
    expect(await handle(statusEvent(arn, 'SUCCEEDED'))).toBe('woken');
    const run = await h.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(run.tasks[0].output).toEqual({ charged: true });
    expect(run.tasks[0].attempts).toHaveLength(1);

    expect(await handle(statusEvent(arn, 'SUCCEEDED'))).toBe('ignored_not_waiting');
    expect(await handle(statusEvent(arn, 'RUNNING'))).toBe('ignored_status');
    expect(sfn.commandCalls(StartExecutionCommand, { name: executionName(runId, 'pay', 1) })).toHaveLength(1);
  });

  it('FAILED: the attempt fails with error and cause; a late event for the old attempt does not disturb the retry', async () => {
    const runId = await startRun('sfn-fail', { retry: { attempts: 2, delay: '10ms' } });
    await waitTask(runId, (t) => t.status === 'waiting' && t.attempt === 1);
    const first = executionArn(SM, executionName(runId, 'pay', 1));
    executions.set(first, { executionArn: first, status: 'FAILED', error: 'States.TaskFailed', cause: 'card declined' });
    expect(await handle(statusEvent(first, 'FAILED'))).toBe('woken');

    await waitTask(runId, (t) => t.status === 'waiting' && t.attempt === 2);
    const second = executionArn(SM, executionName(runId, 'pay', 2));
    expect(executions.get(second)?.status).toBe('RUNNING');
    // The first execution's event again (duplicate, out of order): the attempt waits on another execution.
    expect(await handle(statusEvent(first, 'FAILED'))).toBe('ignored_unknown');
    expect((await waitTask(runId, () => true)).status).toBe('waiting');

    executions.set(second, { executionArn: second, status: 'FAILED', error: 'States.TaskFailed', cause: 'card declined again' });
    expect(await handle(statusEvent(second, 'FAILED', { cause: 'card declined again' }))).toBe('woken');
    const run = await h.waitForRun(runId);
    expect(run.status).toBe('failed');
    expect(run.tasks[0].error).toEqual({
      reason: 'execution_failed',
      message: `execution ${second} FAILED: States.TaskFailed: card declined again`,
    });
    expect(run.tasks[0].attempts.map((a: any) => a.error.message)).toEqual([
      `execution ${first} FAILED: States.TaskFailed: card declined`,
      `execution ${second} FAILED: States.TaskFailed: card declined again`,
    ]);
  });

  it('an execution that ends before its start is even recorded: the event flags the running attempt, which wakes at once', async () => {
    const INSTANT = 'arn:aws:states:us-east-1:123456789012:stateMachine:instant';
    const answers: string[] = [];
    sfn.on(StartExecutionCommand, { stateMachineArn: INSTANT }).callsFake(async (input) => {
      const arn = executionArn(input.stateMachineArn, input.name);
      executions.set(arn, { executionArn: arn, status: 'SUCCEEDED', output: '"fast"' });
      // The status-change event overtakes StartExecution's answer to the worker.
      answers.push(await handle(statusEvent(arn, 'SUCCEEDED')));
      return { executionArn: arn, startDate: new Date() };
    });
    const started = Date.now();
    const runId = await startRun('sfn-instant', { stateMachine: INSTANT });
    const run = await h.waitForRun(runId);
    expect(answers).toEqual(['wake_requested']);
    expect(run.status).toBe('succeeded');
    expect(run.tasks[0].output).toBe('fast');
    expect(Date.now() - started).toBeLessThan(60_000); // not the 1h poll
  });

  it('an event that arrives while the worker is reading the status flags it too', async () => {
    const runId = await startRun('sfn-recheck', { pollInterval: '1s' });
    await waitTask(runId, (t) => t.status === 'waiting');
    const arn = executionArn(SM, executionName(runId, 'pay', 1));
    const answers: string[] = [];
    sfn.on(DescribeExecutionCommand, { executionArn: arn }).callsFake(async () => {
      const stale = { executionArn: arn, status: 'RUNNING' };
      executions.set(arn, { executionArn: arn, status: 'SUCCEEDED', output: '{"late":true}' });
      sfn.on(DescribeExecutionCommand, { executionArn: arn }).callsFake(() => executions.get(arn));
      answers.push(await handle(statusEvent(arn, 'SUCCEEDED')));
      return stale; // what the worker read a moment before the end
    });
    const run = await h.waitForRun(runId);
    expect(answers).toEqual(['wake_requested']);
    expect(run.tasks[0].output).toEqual({ late: true });
  });

  it('ignores events that are not Step Functions status changes', async () => {
    const e = statusEvent('arn:aws:states:us-east-1:123456789012:execution:orders:x', 'SUCCEEDED');
    expect(await handle({ ...e, source: 'aws.ec2' } as SfnStatusEvent)).toBe('ignored_event');
    expect(await handle({ ...e, 'detail-type': 'Step Functions State Machine Status Change' } as any)).toBe('ignored_event');
  });

  it('a long task name is resolved from its cut execution name', async () => {
    const task = `pay_${'x'.repeat(60)}`;
    const put = await h.request('PUT', '/workflows/sfn-long', {
      name: 'sfn-long',
      tasks: { [task]: { type: 'stepfunctions', stateMachine: SM, pollInterval: '1h' } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const runId = (await h.request('POST', '/workflows/sfn-long/runs', {})).body.runId as string;
    await waitTask(runId, (t) => t.status === 'waiting');
    const name = executionName(runId, task, 1);
    expect(name.length).toBe(80);
    const arn = executionArn(SM, name);
    executions.set(arn, { executionArn: arn, status: 'SUCCEEDED', output: '"done"' });
    expect(await handle(statusEvent(arn, 'SUCCEEDED'))).toBe('woken');
    expect((await h.waitForRun(runId)).tasks[0].output).toBe('done');
  });
});
