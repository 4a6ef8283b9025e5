import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * Integers beyond 2^53 are ordinary JSON numbers (doubles) that DynamoDB can store, but the SDK's
 * default marshalling refuses to write them and reads them back as BigInt. Found by the edge fuzz
 * test: a definition whose output held 9007199254740992 answered 500.
 */
describe('numbers beyond 2^53', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('are stored in definitions, params and outputs, and come back as the same numbers', async () => {
    const big = { pos: 2 ** 53, neg: -(2 ** 53) - 2, huge: 1e125, tiny: 1e-125 };
    const put = await h.request('PUT', '/workflows/bignums', {
      params: { p: { type: 'object', default: big } },
      tasks: {
        lit: { type: 'noop', output: big },
        echo: { type: 'noop', after: ['lit'], output: { fromParams: '${params.p}', fromTask: '${tasks.lit.output}' } },
      },
    });
    expect(put.status).toBe(201);
    const start = await h.request('POST', '/workflows/bignums/runs', { params: { p: big } });
    expect(start.status).toBe(201);
    const run = await h.waitForRun(start.body.runId);
    expect(run.status).toBe('succeeded');
    const echo = run.tasks.find((t: { name: string }) => t.name === 'echo');
    expect(echo.output).toEqual({ fromParams: big, fromTask: big });
    const def = await h.request('GET', '/workflows/bignums');
    expect(def.status).toBe(200);
    expect(JSON.stringify(def.body)).toContain('9007199254740992');
  });
});
