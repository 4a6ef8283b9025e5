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
  | { readonly service: 'sqs'; readonly op: string; readonly input: any };

/**
 * The AWS endpoints of one function (its `AWS_ENDPOINT_URL_*` all point here), so every call is
 * recorded against the function that made it: DynamoDB requests are passed through to DynamoDB
 * Local unchanged; Lambda `Invoke` and SQS `SendMessage` have no local stand-in and are answered
 * as AWS answers them (202; a message id and the body's MD5).
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
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
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
