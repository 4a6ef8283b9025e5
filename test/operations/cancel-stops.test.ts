import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import type { LocalFunctions, LocalLambdaContext } from '../../functions/tasks/local-function.js';
import { attachHarness, type Harness, startHarness } from '../support/harness.js';
import { runWhen, startHoldingServer, task, until } from './support.js';

const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';

/**
 * A cancel reaches work in flight through the table, not through the process that took it: the cancel
 * here comes from a second runtime on the same table that runs no master and no worker (another "process"
 * as far as the engine can tell), and the lease is a minute long, so the worker's heartbeat (every
 * 20 s) cannot be what stops the call: the running attempt's own cancel check is.
 */
describe('cancel stops work in flight', () => {
  let h: Harness;
  let other: Harness;
  let server: Awaited<ReturnType<typeof startHoldingServer>>;
  const sfn = new SFNClient({ region: 'us-east-1' });
  const sfnMock = mockClient(sfn);
  const tokens: string[] = [];
  const localFunctions: LocalFunctions = {
    resolve: async () => ({
      key: 'notify',
      target: 'test#notify',
      handler: (event) => void tokens.push((event as { baton: { callbackToken: string } }).baton.callbackToken),
    }),
    context: () => ({ getRemainingTimeInMillis: () => 60_000 }) as unknown as LocalLambdaContext,
  };

  beforeAll(async () => {
    // Holds every request: only the engine can end the connection.
    server = await startHoldingServer();
    const { url } = server;
    sfnMock.on(StartExecutionCommand).callsFake((input) => ({ executionArn: `${SM.replace('stateMachine', 'execution')}:${input.name}` }));
    sfnMock.on(DescribeExecutionCommand).callsFake((input) => ({ executionArn: input.executionArn, status: 'RUNNING' }));
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    h = await startHarness({ BATON_LEASE_MS: '60000' }, { deps: { aws: lazyAwsClients({ sfn }), localFunctions } });
    other = attachHarness(h.config, { roles: { master: false, worker: false, sweeper: false, scheduler: false } });
    await h.request('PUT', '/workflows/inflight', {
      name: 'inflight',
      tasks: {
        call: { type: 'http', url: `${url}/slow`, requestTimeout: '10m', timeout: '1h' },
        exec: { type: 'stepfunctions', stateMachine: SM, pollInterval: '1h' },
        notify: { type: 'lambda', function: 'notify', mode: 'async' },
        nap: { type: 'wait', duration: '1h' },
        after: { type: 'noop', after: ['call', 'exec', 'notify', 'nap'] },
      },
    });
  });
  afterAll(async () => {
    await other.stop();
    await h.stop();
    await server.close();
    sfnMock.restore();
  });

  it('cancel of a run whose http task is holding a connection closes that connection within seconds', async () => {
    const runId = (await h.request('POST', '/workflows/inflight/runs', {})).body.runId as string;
    await until('the request to arrive', async () => server.opened.length === 1, 60_000);
    await runWhen(
      h,
      runId,
      'the other tasks to wait',
      (r) => ['exec', 'notify', 'nap'].every((n) => task(r, n).status === 'waiting'),
      60_000,
    );
    expect(task((await h.request('GET', `/runs/${runId}`)).body, 'call').status).toBe('running');
    await until('the function to be invoked', async () => tokens.length === 1, 60_000);

    const cancelledAt = Date.now();
    expect((await other.request('POST', `/runs/${runId}/cancel`)).status).toBe(202);
    // A generous bound (a loaded CI box is slow, not wrong), below the 20 s heartbeat: the point is
    // that the cancel reached the call at all.
    await until('the held connection to close', async () => server.closed.length === 1, 18_000);
    expect(server.closed[0]).toBeGreaterThanOrEqual(cancelledAt);

    const run = await runWhen(h, runId, 'every task to end', (r) =>
      r.tasks.every((t: any) => t.name === 'after' || t.status === 'cancelled'),
    );
    expect(run.status).toBe('cancelled');
    expect(task(run, 'after').status).toBe('blocked');
    // Nothing ran again, and the aborted call recorded no outcome of its own.
    expect(server.opened).toHaveLength(1);
    expect(task(run, 'call').attempts ?? []).toEqual([]);

    // The waiting Step Functions execution was stopped, checked at the AWS edge.
    const stops = sfnMock.commandCalls(StopExecutionCommand).map((c) => c.args[0].input);
    expect(stops).toEqual([
      {
        executionArn: `${SM.replace('stateMachine', 'execution')}:${runId}_1_exec`,
        error: 'Baton.Cancelled',
        cause: expect.stringContaining(`run ${runId} was cancelled`),
      },
    ]);

    // The async lambda's token no longer completes anything.
    const late = await h.request('POST', `/callbacks/${tokens[0]}`, { output: { late: true } });
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(late.status).toBeLessThan(500);
    const after = (await h.request('GET', `/runs/${runId}`)).body;
    expect(task(after, 'notify').status).toBe('cancelled');
    expect(task(after, 'notify').output).toBeUndefined();
  }, 240_000);
});
