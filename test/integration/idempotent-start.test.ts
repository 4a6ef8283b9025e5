import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, tableSnapshot } from '../support/harness.js';

describe('idempotent start', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const put = await h.request('PUT', '/workflows/idem', {
      name: 'idem',
      params: { x: { type: 'integer', default: 1 } },
      tasks: { a: { type: 'noop', output: '${params.x}' } },
    });
    expect(put.status).toBe(201);
  });
  afterAll(() => h.stop());

  const runsOf = async (workflow: string) => (await h.request('GET', `/workflows/${workflow}/runs?limit=100`)).body.runs as any[];

  const snapshot = () => tableSnapshot(h.config.table);

  it('the same Idempotency-Key twice gives the same run; the second answer is 200 created:false', async () => {
    const first = await h.request('POST', '/workflows/idem/runs', { params: { x: 5 } }, { 'Idempotency-Key': 'order-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ created: true, version: 1 });
    await h.waitForRun(first.body.runId);
    const second = await h.request('POST', '/workflows/idem/runs', { params: { x: 5 } }, { 'Idempotency-Key': 'order-1' });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ runId: first.body.runId, version: 1, created: false });
    const runs = await runsOf('idem');
    expect(runs.filter((r) => r.runId === first.body.runId)).toHaveLength(1);
    // A different key is a different run.
    const other = await h.request('POST', '/workflows/idem/runs', { params: { x: 5 } }, { 'Idempotency-Key': 'order-2' });
    expect(other.status).toBe(201);
    expect(other.body.runId).not.toBe(first.body.runId);
    await h.waitForRun(other.body.runId);
  });

  it('20 concurrent identical requests make exactly one run', async () => {
    const before = (await runsOf('idem')).length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => h.request('POST', '/workflows/idem/runs', { params: { x: 9 } }, { 'Idempotency-Key': 'burst' })),
    );
    const ids = new Set(answers.map((a) => a.body.runId));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200 && a.body.created === false)).toHaveLength(19);
    const [runId] = [...ids];
    const run = await h.waitForRun(runId as string);
    expect(run.status).toBe('succeeded');
    expect(run.tasks[0].attempts).toHaveLength(1);
    const after = await runsOf('idem');
    expect(after.length).toBe(before + 1);
    expect(after.filter((r) => r.runId === runId)).toHaveLength(1);
  });

  it('the same key with different params is a 409, and changes nothing', async () => {
    const first = await h.request('POST', '/workflows/idem/runs', { params: { x: 1 } }, { 'Idempotency-Key': 'reused' });
    expect(first.status).toBe(201);
    await h.waitForRun(first.body.runId);
    const before = await snapshot();
    const conflict = await h.request('POST', '/workflows/idem/runs', { params: { x: 2 } }, { 'Idempotency-Key': 'reused' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency_key_reused');
    expect(conflict.body.error.message).toContain(first.body.runId);
    // Omitting the params is a different request too.
    const noParams = await h.request('POST', '/workflows/idem/runs', {}, { 'Idempotency-Key': 'reused' });
    expect(noParams.status).toBe(409);
    expect(await snapshot()).toBe(before);
    const run = (await h.request('GET', `/runs/${first.body.runId}`)).body;
    expect(run.params).toEqual({ x: 1 });
  });

  it('the same params in another key order are the same request', async () => {
    const put = await h.request('PUT', '/workflows/idem3', {
      name: 'idem3',
      params: { a: { type: 'integer' }, b: { type: 'object' } },
      tasks: { t: { type: 'noop' } },
    });
    expect(put.status).toBe(201);
    const first = await h.request('POST', '/workflows/idem3/runs', { params: { a: 1, b: { y: 2, z: 3 } } }, { 'Idempotency-Key': 'k' });
    expect(first.status).toBe(201);
    const again = await h.request('POST', '/workflows/idem3/runs', '{"params":{"b":{"z":3,"y":2},"a":1}}', {
      'Idempotency-Key': 'k',
      'content-type': 'application/json',
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.runId).toBe(first.body.runId);
    await h.waitForRun(first.body.runId);
  });

  it('a key is scoped to its workflow', async () => {
    const put = await h.request('PUT', '/workflows/idem2', { name: 'idem2', tasks: { a: { type: 'noop' } } });
    expect(put.status).toBe(201);
    const a = await h.request('POST', '/workflows/idem/runs', {}, { 'Idempotency-Key': 'shared' });
    const b = await h.request('POST', '/workflows/idem2/runs', {}, { 'Idempotency-Key': 'shared' });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.runId).not.toBe(b.body.runId);
    await Promise.all([h.waitForRun(a.body.runId), h.waitForRun(b.body.runId)]);
  });

  it('an empty or oversize Idempotency-Key is a 400', async () => {
    const before = await snapshot();
    const long = await h.request('POST', '/workflows/idem/runs', {}, { 'Idempotency-Key': 'k'.repeat(256) });
    expect(long.status).toBe(400);
    expect(long.body.error.details).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);
    expect(await snapshot()).toBe(before);
  });
});
