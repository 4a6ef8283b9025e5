import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

describe('a chain runs end to end', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it('runs a -> b -> c with outputs passed along', async () => {
    const def = {
      name: 'chain',
      params: { who: { type: 'string', required: true } },
      tasks: {
        a: { type: 'noop', output: { greeting: 'hello ${params.who}' } },
        b: { type: 'noop', after: ['a'], output: { n: 3, from: '${tasks.a.output.greeting}' } },
        c: { type: 'noop', after: ['b'], output: '${tasks.b.output.n}' },
      },
    };
    const put = await h.request('PUT', '/workflows/chain', def);
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', '/workflows/chain/runs', { params: { who: 'world' } });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const run = await h.waitForRun(start.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.tasks.map((t: any) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(run.tasks[1].output).toEqual({ n: 3, from: 'hello world' });
    expect(run.output).toEqual({ c: 3 });
  });
});
