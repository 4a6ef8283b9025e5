import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

describe('cancelling a run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.request('PUT', '/workflows/sleeper', { name: 'sleeper', tasks: { nap: { type: 'wait', duration: '1h' } } });
    await h.request('PUT', '/workflows/outer', {
      name: 'outer',
      tasks: {
        child: { type: 'subworkflow', workflow: 'sleeper' },
        nap: { type: 'wait', duration: '1h' },
        later: { type: 'noop', after: ['nap'] },
      },
    });
  });
  afterAll(() => h.stop());

  const until = async (check: () => Promise<boolean>, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('stops the run and its children; nothing is started afterwards', async () => {
    const { body } = await h.request('POST', '/workflows/outer/runs', {});
    const runId = body.runId;
    await until(async () =>
      (await h.request('GET', `/runs/${runId}`)).body.tasks.every((t: any) => t.name === 'later' || t.status === 'waiting'),
    );
    const child = (await h.request('GET', `/runs/${runId}/children`)).body.children[0];
    await until(async () => (await h.request('GET', `/runs/${child.runId}`)).body.status === 'running');

    const res = await h.request('POST', `/runs/${runId}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('cancelled');
    await until(async () => (await h.request('GET', `/runs/${child.runId}`)).body.status === 'cancelled');

    const again = await h.request('POST', `/runs/${runId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_finished');
    const run = (await h.request('GET', `/runs/${runId}`)).body;
    expect(run.status).toBe('cancelled');
    expect(run.tasks.find((t: any) => t.name === 'later').status).toBe('blocked');
    expect((await h.request('POST', '/runs/nope/cancel')).status).toBe(404);
  });
});
