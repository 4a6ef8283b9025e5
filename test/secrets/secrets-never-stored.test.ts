import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientDefaults, dynamoClient } from '../../functions/store/client.js';
import { localSecretSource } from '../../functions/tasks/secrets/local-source.js';
import { type Harness, startHarness, tableSnapshot } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';

// Distinct values, so that a leak in any form (raw, inside JSON, in a URL) is found by a plain search.
const API_KEY = 'sk-live-4f1c9e7Z"quoted"';
const FILE_KEY = 'file-secret-8d2b6a0QX';

/** Every stream record of the table, old and new images, as one JSON string. */
async function streamText(table: string): Promise<string> {
  const arn = (await dynamoClient().send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn as string;
  const streams = new DynamoDBStreamsClient({ ...clientDefaults(), endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? [];
  const records: unknown[] = [];
  for (const shard of shards) {
    let it = (
      await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    for (let i = 0; it && i < 50; i++) {
      const r = await streams.send(new GetRecordsCommand({ ShardIterator: it }));
      records.push(...(r.Records ?? []));
      if ((r.Records ?? []).length === 0) break;
      it = r.NextShardIterator;
    }
  }
  streams.destroy();
  return JSON.stringify(records);
}

describe('secrets resolve in the worker and are never stored, returned or logged', () => {
  let h: Harness;
  let target: HttpTarget;
  let dir: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-secrets-'));
    const file = join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify({ FILE_KEY }));
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    target = await startHttpTarget();
    h = await startHarness(
      {},
      {
        deps: {
          secrets: localSecretSource({ file, envPrefix: 'TEST_SECRET_', env: { TEST_SECRET_API_KEY: API_KEY } }),
          log: pino({ level: 'debug' }, sink),
        },
      },
    );
  });
  afterAll(async () => {
    await h.stop();
    await target.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(name: string, def: Record<string, unknown>, params?: Record<string, unknown>) {
    const put = await h.request('PUT', `/workflows/${name}`, { name, ...def });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', `/workflows/${name}/runs`, params ? { params } : {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    return h.waitForRun(start.body.runId);
  }

  it('a header secret reaches the server; the echoed value is stored as ***; params and children keep the reference', async () => {
    // The target checks the credential, as a real API would, and echoes the headers back.
    target.route('/echo', (req) =>
      req.headers.authorization === `Bearer ${API_KEY}` && req.headers['x-file-key'] === FILE_KEY && req.headers['x-param'] === API_KEY
        ? { status: 200, body: { headers: req.headers, note: `key was ${API_KEY}` } }
        : { status: 401, body: { error: 'bad credential', got: req.headers } },
    );
    target.route('/reject', (req) => ({ status: 403, body: `denied ${req.headers['x-key']}` }));
    await h.request('PUT', '/workflows/secret-child', {
      name: 'secret-child',
      params: { token: { type: 'string', required: true } },
      tasks: { use: { type: 'noop', output: { token: '${params.token}', len: 'ends ${params.token}' } } },
    });
    const r = await run('secret-parent', {
      params: { key: { type: 'string', default: '${secrets.API_KEY}' } },
      failureStrategy: 'continue',
      tasks: {
        call: {
          type: 'http',
          url: `${target.url}/echo`,
          headers: { authorization: 'Bearer ${secrets.API_KEY}', 'x-file-key': '${secrets.FILE_KEY}', 'x-param': '${params.key}' },
        },
        rejected: { type: 'http', url: `${target.url}/reject?k=\${secrets.API_KEY}`, headers: { 'x-key': '${secrets.API_KEY}' } },
        child: { type: 'subworkflow', workflow: 'secret-child', params: { token: '${secrets.API_KEY}' } },
      },
    });
    const task = (n: string) => r.tasks.find((t: any) => t.name === n);
    expect(task('call').status, JSON.stringify(task('call'))).toBe('succeeded');
    expect(task('call').output.headers.authorization).toBe('Bearer ***');
    expect(task('call').output.headers['x-file-key']).toBe('***');
    expect(task('call').output.note).toBe('key was ***');
    expect(task('rejected').status).toBe('failed');
    expect(task('rejected').error.reason).toBe('http_403');
    expect(task('rejected').error.message).toContain('denied ***');
    expect(task('rejected').error.message).toContain('k=***');
    expect(r.params.key).toBe('${secrets.API_KEY}');
    expect(task('child').status).toBe('succeeded');
    const children = await h.request('GET', `/runs/${r.runId}/children`);
    expect(children.body.children).toHaveLength(1);
    const child = await h.request('GET', `/runs/${children.body.children[0].runId}`);
    expect(child.body.params).toEqual({ token: '${secrets.API_KEY}' });
    expect(child.body.tasks[0].output).toEqual({ token: '***', len: 'ends ***' });

    const api = JSON.stringify([r, (await h.request('GET', `/runs/${r.runId}`)).body, children.body, child.body]);
    const table = await tableSnapshot(h.config.table);
    const stream = await streamText(h.config.table);
    expect(logLines.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries({ api, table, stream, logs: logLines.join('') })) {
      for (const value of [API_KEY, JSON.stringify(API_KEY).slice(1, -1), encodeURIComponent(API_KEY), FILE_KEY]) {
        expect(text.includes(value), `${where} holds a secret value`).toBe(false);
      }
    }
    // The references themselves are kept where the definition and params hold them.
    expect(table).toContain('${secrets.API_KEY}');
  });

  it('an unknown secret fails the attempt with secret_missing, naming it, without retrying', async () => {
    const r = await run('secret-missing', {
      tasks: { t: { type: 'noop', retry: { attempts: 3, delay: '10ms' }, output: { v: '${secrets.NOT_THERE}' } } },
    });
    const t = r.tasks[0];
    expect(r.status).toBe('failed');
    expect(t.error.reason).toBe('secret_missing');
    expect(t.error.message).toContain('"NOT_THERE"');
    expect(t.attempt).toBe(1);
    expect(t.attempts).toHaveLength(1);
  });
});
