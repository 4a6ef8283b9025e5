import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One AWS request a function made. */
export type AwsCall =
  | { readonly service: 'dynamodb'; readonly op: string; readonly input: any }
  | {
      readonly service: 'lambda';
      readonly op: 'Invoke';
      readonly functionName: string;
      readonly invocationType?: string;
      readonly payload: any;
    }
  | { readonly service: 'sqs'; readonly op: string; readonly input: any }
  | { readonly service: 'sfn'; readonly op: string; readonly input: any }
  | { readonly service: 'events'; readonly op: string; readonly input: any };

/** One Step Functions execution the fake knows: started by `StartExecution`, ended by the test. */
export interface FakeExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: string;
}

/** Every execution started through any edge, by execution ARN (a stand-in for the Step Functions service). */
export const executions = new Map<string, FakeExecution>();

/**
 * The AWS endpoints of one function (its `AWS_ENDPOINT_URL_*` all point here), so every call is
 * recorded against the function that made it: DynamoDB requests are passed through to DynamoDB
 * Local unchanged; Lambda `Invoke`, SQS `SendMessage`, Step Functions' `StartExecution`,
 * `DescribeExecution` and `StopExecution` and EventBridge `PutEvents` have no local stand-in and are
 * answered as AWS answers them (202 for an Event invoke; a message id and the body's MD5; the
 * execution, kept in `executions`; an event id per entry).
 */
export class FakeAws {
  readonly calls: AwsCall[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(dynamoEndpoint: string): Promise<FakeAws> {
    const upstream = new URL(dynamoEndpoint);
    let self: FakeAws | undefined;
    const server = createServer(async (req, res) => {
      const body = await read(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const invoke = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(\?|$)/.exec(req.url ?? '');
      if (target.startsWith('DynamoDB_20120810.')) {
        self?.calls.push({ service: 'dynamodb', op: target.split('.')[1]!, input: JSON.parse(body.toString()) });
        const headers = { ...req.headers, host: upstream.host };
        delete headers['accept-encoding'];
        const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (r) => {
          res.writeHead(r.statusCode ?? 500, r.headers);
          r.pipe(res);
        });
        up.on('error', (err) => res.writeHead(502).end(String(err)));
        up.end(body);
      } else if (invoke && req.method === 'POST') {
        self?.calls.push({
          service: 'lambda',
          op: 'Invoke',
          functionName: decodeURIComponent(invoke[1]!),
          invocationType: req.headers['x-amz-invocation-type'] as string | undefined,
          payload: JSON.parse(body.toString()),
        });
        res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
      } else if (target === 'AmazonSQS.SendMessage') {
        const input = JSON.parse(body.toString());
        self?.calls.push({ service: 'sqs', op: 'SendMessage', input });
        const md5 = createHash('md5').update(input.MessageBody).digest('hex');
        res
          .writeHead(200, { 'content-type': 'application/x-amz-json-1.0' })
          .end(JSON.stringify({ MessageId: randomUUID(), MD5OfMessageBody: md5 }));
      } else if (target.startsWith('AWSStepFunctions.')) {
        const op = target.split('.')[1]!;
        const input = JSON.parse(body.toString());
        self?.calls.push({ service: 'sfn', op, input });
        const [status, answer] = stepFunctions(op, input);
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(answer));
      } else if (target === 'AWSEvents.PutEvents') {
        const input = JSON.parse(body.toString());
        self?.calls.push({ service: 'events', op: 'PutEvents', input });
        const entries = (input.Entries as unknown[]).map(() => ({ EventId: randomUUID() }));
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ FailedEntryCount: 0, Entries: entries }));
      } else {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message: `not faked: ${req.method} ${req.url} ${target}` }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new FakeAws(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Calls recorded since the last `take` of that service. */
  take<S extends AwsCall['service']>(service: S): Extract<AwsCall, { service: S }>[] {
    const taken = this.calls.filter((c) => c.service === service && !this.seen.has(c));
    for (const c of taken) this.seen.add(c);
    return taken as Extract<AwsCall, { service: S }>[];
  }
  private readonly seen = new Set<AwsCall>();

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Step Functions, as far as the `stepfunctions` task type uses it (Standard state machines). */
function stepFunctions(op: string, input: any): [number, unknown] {
  const error = (type: string, message: string): [number, unknown] => [400, { __type: type, message }];
  const seconds = Date.now() / 1000;
  switch (op) {
    case 'StartExecution': {
      const [arnPrefix, , , , , , machine] = String(input.stateMachineArn).split(':');
      const executionArn = [...String(input.stateMachineArn).split(':').slice(0, 5), 'execution', machine, input.name].join(':');
      if (arnPrefix !== 'arn' || !machine) return error('InvalidArn', `invalid state machine ARN ${input.stateMachineArn}`);
      const known = executions.get(executionArn);
      if (known && (known.status !== 'RUNNING' || known.input !== input.input)) {
        return error('ExecutionAlreadyExists', `execution ${executionArn} already exists`);
      }
      if (!known) {
        executions.set(executionArn, {
          executionArn,
          stateMachineArn: input.stateMachineArn,
          name: input.name,
          input: input.input,
          status: 'RUNNING',
        });
      }
      return [200, { executionArn, startDate: seconds }];
    }
    case 'DescribeExecution': {
      const e = executions.get(input.executionArn);
      if (!e) return error('ExecutionDoesNotExist', `execution ${input.executionArn} does not exist`);
      return [200, { ...e, startDate: seconds - 1, ...(e.status !== 'RUNNING' && { stopDate: seconds }) }];
    }
    case 'StopExecution': {
      const e = executions.get(input.executionArn);
      if (!e) return error('ExecutionDoesNotExist', `execution ${input.executionArn} does not exist`);
      if (e.status === 'RUNNING') e.status = 'ABORTED';
      return [200, { stopDate: seconds }];
    }
    default:
      return error('UnknownOperationException', `not faked: ${op}`);
  }
}
