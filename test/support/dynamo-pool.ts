import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type LocalDynamo, startDynamoLocal } from '../../functions/local/dynamodb-local.js';

/**
 * DynamoDB Local instances for the test suite, handed to test files through a loopback broker.
 *
 * Why more than one: one DynamoDB Local (one JVM, one in-memory SQLite) slows down as it accumulates
 * tables, streams and items; by the last files of the suite the same file took 2–4× its time alone
 * (README, "How long it takes"). So every `filesPerInstance` test files get a new instance, and the
 * one before is stopped when the last file using it releases it. The next instance is started and
 * warmed (its JVM is ~10× slower for its first seconds) in the background while the current one
 * serves its last file, so that a lease never waits for a JVM start after the first.
 *
 * The broker: `GET /lease` → `{ id, endpoint }`, `POST /release?id=…`. Test files reach it from the
 * vitest worker processes (`dynamo-lease.ts`); the pool itself lives in the global setup's process.
 */
export class DynamoPool {
  private current: Instance | undefined;
  private spare: Promise<Instance> | undefined;
  private readonly leases = new Map<string, Instance>();
  private readonly all = new Set<Instance>();
  private readonly stopping = new Set<Promise<void>>();
  private nextLease = 0;
  private server: Server | undefined;
  private closed = false;

  constructor(
    private readonly filesPerInstance: number,
    private readonly log: (line: string) => void = () => {},
    /** JVM options of every instance (`startDynamoLocal`); undefined: the JVM's defaults. */
    private readonly javaOptions?: string,
  ) {
    if (!Number.isInteger(filesPerInstance) || filesPerInstance < 1)
      throw new Error(`files per instance must be a positive integer, got ${filesPerInstance}`);
  }

  /**
   * Starts the broker; resolves to its URL. The first instance starts with the first lease, so that a
   * vitest project whose files are not run this time (each project runs the global setup) costs no JVM.
   */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req.method ?? '', new URL(req.url ?? '/', 'http://x')).then(
        (body) => {
          // One request per connection: a kept-alive socket that the server closes while a worker
          // reuses it fails that worker's request ('other side closed'), seen once in a full run.
          res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify(body));
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
          res.end(err instanceof Error ? (err.stack ?? err.message) : String(err));
        },
      );
    });
    await new Promise<void>((ok) => this.server?.listen(0, '127.0.0.1', ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(method: string, url: URL): Promise<unknown> {
    if (method === 'GET' && url.pathname === '/lease') return this.lease();
    if (method === 'POST' && url.pathname === '/release') return this.release(url.searchParams.get('id') ?? '');
    throw new Error(`no such broker route: ${method} ${url.pathname}`);
  }

  /** The instance for the next test file; rotates after `filesPerInstance` files. */
  async lease(): Promise<{ id: string; endpoint: string }> {
    if (this.closed) throw new Error('the DynamoDB pool is closed');
    let inst = this.current;
    if (!inst || inst.served >= this.filesPerInstance) {
      const old = inst;
      this.spare ??= this.launch();
      inst = await this.spare;
      this.spare = undefined;
      // Another lease may have rotated while this one waited for the spare.
      if (this.current === old) {
        this.current = inst;
        if (old) this.retire(old);
      } else {
        inst = this.current as Instance;
      }
    }
    inst.served++;
    inst.active++;
    // Warm the next one while this instance serves its last file.
    if (inst.served === this.filesPerInstance) this.spare ??= this.launch();
    const id = String(++this.nextLease);
    this.leases.set(id, inst);
    return { id, endpoint: inst.dynamo.endpoint };
  }

  async release(id: string): Promise<{ released: boolean }> {
    const inst = this.leases.get(id);
    if (!inst) return { released: false };
    this.leases.delete(id);
    inst.active--;
    // Answered at once; the JVM stops in the background (close waits for it).
    if (inst !== this.current && inst.active === 0) this.retire(inst);
    return { released: true };
  }

  async close(): Promise<void> {
    this.closed = true;
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
    // A spare still starting stops itself once started (`launch` sees the pool closed).
    await this.spare?.catch(() => {});
    this.spare = undefined;
    await Promise.all([...[...this.all].map((i) => this.stopInstance(i)), ...this.stopping]);
  }

  /** SIGKILLs every instance at once (an exit handler: nothing can be awaited there). */
  kill(): void {
    for (const inst of this.all) inst.dynamo.process.kill('SIGKILL');
  }

  private retire(inst: Instance) {
    if (inst.active !== 0) return;
    const stopping = this.stopInstance(inst);
    this.stopping.add(stopping);
    void stopping.finally(() => this.stopping.delete(stopping));
  }

  private async stopInstance(inst: Instance) {
    if (!this.all.delete(inst)) return;
    this.log(`DynamoDB Local ${inst.dynamo.endpoint} stopped after ${inst.served} test files`);
    await inst.dynamo.stop();
  }

  private async launch(): Promise<Instance> {
    const t0 = Date.now();
    const dynamo = await startDynamoLocal({ javaOptions: this.javaOptions });
    await warm(dynamo.endpoint);
    const inst: Instance = { dynamo, served: 0, active: 0 };
    this.all.add(inst);
    this.log(`DynamoDB Local ${dynamo.endpoint} started and warmed in ${Date.now() - t0} ms`);
    if (this.closed) await this.stopInstance(inst);
    return inst;
  }
}

interface Instance {
  readonly dynamo: LocalDynamo;
  /** Test files leased this instance so far. */
  served: number;
  /** Test files holding it now. */
  active: number;
}

/**
 * A cold DynamoDB Local answers its first requests ~10× slower while the JVM compiles its paths:
 * a few hundred puts and gets on a throwaway table (no stream, so nothing of it reaches a test).
 */
async function warm(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const TableName = 'warmup';
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const pk = { S: `k${round}-${i}` };
          await client.send(
            new PutItemCommand({ TableName, Item: { pk, v: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)' }),
          );
          await client.send(new GetItemCommand({ TableName, Key: { pk }, ConsistentRead: true }));
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
