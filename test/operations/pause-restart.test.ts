import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep, startCluster, stopClusters, waitFor } from '../crash/support.js';
import { gate } from './support.js';

/** Pause survives a SIGKILL of the engine: the held task is not started by the restarted process. */
describe('a paused run across a SIGKILL and restart of the engine', () => {
  stopClusters('all');
  let server: Server | undefined;
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('does not start the next task while paused, and succeeds after resume', async () => {
    const g = gate();
    const calls: string[] = [];
    server = createServer((req, res) => {
      calls.push(req.url ?? '');
      void g.opened.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"n":1}'));
    });
    await new Promise<void>((ok) => server?.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const { cluster, api: a } = await startCluster({}, 'pause');
    await a.put({
      name: 'paused',
      tasks: {
        first: { type: 'http', url: `${url}/first` },
        second: { type: 'http', url: `${url}/second`, after: ['first'] },
      },
    });
    const engine = await cluster.add('engine', 'master,worker,sweeper');
    await engine.start();
    const runId = await a.start('paused');
    const view = async () => (await a.request('GET', `/runs/${runId}`)).body;
    await waitFor('the first call', async () => calls.length === 1, 15_000);
    expect((await a.request('POST', `/runs/${runId}/pause`)).status).toBe(202);
    g.open();
    await waitFor('second to be held', async () => (await view()).tasks[1].held === true, 15_000);

    await engine.kill();
    await engine.start();
    // Past the lease, the dispatch timeout and several sweeps and watchdog rounds of the new process.
    await sleep(4000);
    const still = await view();
    expect(still.status).toBe('paused');
    expect(still.tasks[1]).toMatchObject({ status: 'queued', held: true, attempts: [] });
    expect(calls).toEqual(['/first']);

    expect((await a.request('POST', `/runs/${runId}/resume`)).status).toBe(202);
    const done = await waitFor('the run to succeed', async () => ((await view()).status === 'succeeded' ? view() : undefined), 20_000);
    expect(done.tasks.map((t: any) => t.attempts.length)).toEqual([1, 1]);
    expect(calls).toEqual(['/first', '/second']);
  });
});
