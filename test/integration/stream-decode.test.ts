import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * The master learns of changes only from stream records. With the watchdog (which re-drives runs whose
 * events were lost) pushed out of reach, a parent resumes after its child and a cancel reaches a waiting
 * task only if every record decodes. A decoder once shared its options object with the document client,
 * which rewrote it, and every record was skipped as undecodable: these runs hung, the rest of the suite
 * passed on the watchdog alone.
 */
describe('stream records drive the master without the watchdog', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ BATON_WATCHDOG_MS: '600000' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a parent resumes when its child ends, numbers beyond 2^53 included', async () => {
    expect((await h.request('PUT', '/workflows/leaf', { tasks: { a: { type: 'noop', output: { n: 2 ** 53 } } } })).status).toBe(201);
    expect((await h.request('PUT', '/workflows/parent', { tasks: { call: { type: 'subworkflow', workflow: 'leaf' } } })).status).toBe(201);
    const start = await h.request('POST', '/workflows/parent/runs', {});
    expect(start.status).toBe(201);
    const run = await h.waitForRun(start.body.runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(JSON.stringify(run.tasks.find((t: { name: string }) => t.name === 'call').output)).toContain('9007199254740992');
  });

  it('a cancel ends a waiting task', async () => {
    expect((await h.request('PUT', '/workflows/sleepy', { tasks: { w: { type: 'wait', duration: '1h' } } })).status).toBe(201);
    const start = await h.request('POST', '/workflows/sleepy/runs', {});
    const runId = start.body.runId;
    for (let i = 0; ; i++) {
      const r = await h.request('GET', `/runs/${runId}`);
      if (r.body.tasks?.[0]?.status === 'waiting') break;
      if (i > 600) throw new Error(`never waiting: ${JSON.stringify(r.body)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    expect((await h.request('POST', `/runs/${runId}/cancel`)).status).toBeLessThan(300);
    for (let i = 0; ; i++) {
      const r = await h.request('GET', `/runs/${runId}`);
      if (r.body.tasks?.[0]?.status === 'cancelled') break;
      if (i > 600) throw new Error(`task not cancelled: ${JSON.stringify(r.body)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  });
});
