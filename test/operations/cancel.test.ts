import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { startHoldingServer, until } from './support.js';

describe('cancel stops work', () => {
  let h: Harness;
  let server: Awaited<ReturnType<typeof startHoldingServer>>;
  beforeAll(async () => {
    server = await startHoldingServer();
    const { url } = server;
    h = await startHarness();
    await h.request('PUT', '/workflows/held', {
      name: 'held',
      tasks: {
        call: { type: 'http', url: `${url}/slow`, requestTimeout: '10m', timeout: '1h' },
        nap: { type: 'wait', duration: '1h' },
        after: { type: 'noop', after: ['call', 'nap'] },
      },
    });
  });
  afterAll(async () => {
    await h.stop();
    await server.close();
  });

  it('closes the http connection within seconds and shows every open task cancelled', async () => {
    const runId = (await h.request('POST', '/workflows/held/runs', {})).body.runId as string;
    await until('the request to arrive', async () => server.opened.length === 1);
    await until('the wait to suspend', async () => (await h.request('GET', `/runs/${runId}`)).body.tasks[1]?.status === 'waiting');
    expect((await h.request('POST', `/runs/${runId}/cancel`)).status).toBe(202);
    await until('the connection to close', async () => server.closed.length === 1, 10_000);
    const run = await until('every task to end', async () => {
      const r = (await h.request('GET', `/runs/${runId}`)).body;
      return r.tasks.filter((t: any) => t.name !== 'after').every((t: any) => t.status === 'cancelled') ? r : undefined;
    });
    expect(run.status).toBe('cancelled');
    expect(server.opened).toHaveLength(1);
  });
});
