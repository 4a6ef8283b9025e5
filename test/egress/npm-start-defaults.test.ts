import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { type HttpTarget, startHttpTarget } from '../support/http-target.js';

/** The scenario, through the API, with the default policy of a local (npm start) process. */
describe('egress under the local defaults, through a whole run', () => {
  let h: Harness;
  let target: HttpTarget;

  beforeAll(async () => {
    [h, target] = await Promise.all([startHarness(), startHttpTarget()]);
  });
  afterAll(async () => {
    await target.close();
    await h.stop();
  });

  async function one(name: string, task: Record<string, unknown>) {
    expect((await h.request('PUT', `/workflows/${name}`, { name, tasks: { call: task } })).status).toBe(201);
    const start = await h.request('POST', `/workflows/${name}/runs`, {});
    const run = await h.waitForRun(start.body.runId);
    return run.tasks[0];
  }

  it('a Scan sent to the engine DynamoDB endpoint fails with egress_denied and returns no items', async () => {
    const t = await one('scan-the-engine', {
      type: 'http',
      method: 'POST',
      url: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      headers: { 'x-amz-target': 'DynamoDB_20120810.Scan', 'content-type': 'application/x-amz-json-1.0' },
      body: { TableName: h.config.table },
      retry: { attempts: 3, delay: '10ms' },
    });
    expect(t.status).toBe('failed');
    expect(t.error.reason).toBe('egress_denied');
    expect(t.error.message).toContain('engine DynamoDB endpoint');
    expect(t.attempts).toHaveLength(1);
    expect(t.output).toBeUndefined();
  });

  it('the cloud metadata address fails with egress_denied', async () => {
    const t = await one('metadata', { type: 'http', url: 'http://169.254.169.254/latest/meta-data/' });
    expect(t.error?.reason).toBe('egress_denied');
  });

  it('a loopback server is reachable by default', async () => {
    target.route('/ok', () => ({ status: 200, body: { fine: true } }));
    const t = await one('loopback-ok', { type: 'http', url: `${target.url}/ok` });
    expect(t.status).toBe('succeeded');
    expect(target.received('/ok')).toHaveLength(1);
  });
});
