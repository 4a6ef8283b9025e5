import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeByCallback } from '../../functions/orchestrator/callback.js';
import { hashToken, mintCallbackToken, parseCallbackToken } from '../../functions/orchestrator/callback-token.js';
import type { Deps, Job } from '../../functions/orchestrator/deps.js';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * The callback's conditional writes against DynamoDB Local, on task items set up by hand, including
 * the race in which the function reports before its worker has recorded the suspension.
 */
describe('callbacks (DynamoDB Local)', () => {
  let h: Harness;
  let deps: Deps;
  const dispatched: Job[] = [];
  beforeAll(async () => {
    h = await startHarness();
    deps = { ...h.runtime.deps, dispatch: async (j) => void dispatched.push(j) };
  });
  afterAll(() => h.stop());

  let n = 0;
  async function task(fields: Record<string, unknown>) {
    const runId = `rcb${++n}`;
    const key = { pk: `RUN#${runId}`, sk: 'TASK#job' };
    await deps.db.create({ ...key, kind: 'task', runId, name: 'job', attempt: 1, fence: 1, ...fields });
    return { runId, key };
  }

  it('tokens round-trip and only their hash identifies them', () => {
    const { token, tokenHash } = mintCallbackToken('r1', 'a-b_c', 12);
    expect(parseCallbackToken(token)).toEqual({ runId: 'r1', task: 'a-b_c', attempt: 12 });
    expect(hashToken(token)).toBe(tokenHash);
    expect(mintCallbackToken('r1', 'a-b_c', 12).token).not.toBe(token);
    for (const bad of [
      '',
      'v1..',
      'v2.eyJ9.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      `v1.${Buffer.from('[1,2,3]').toString('base64url')}.${'a'.repeat(32)}`,
    ]) {
      expect(parseCallbackToken(bad)).toBeUndefined();
    }
  });

  it('records the report and wakes the attempt in one write; a second report conflicts', async () => {
    const { runId, key } = await task({ status: 'running' });
    const { token, tokenHash } = mintCallbackToken(runId, 'job', 1);
    await deps.db.update(key, { set: { status: 'waiting', wake: 'resume', state: { mode: 'async', tokenHash, invokedAt: 1 } } });
    const r = await completeByCallback(deps, token, { output: { ok: 1 } });
    expect(r).toEqual({ kind: 'accepted', runId, task: 'job', attempt: 1 });
    const item = await deps.db.get<any>(key);
    expect(item.status).toBe('queued');
    expect(item.attempt).toBe(1);
    expect(item.wake).toBeUndefined();
    expect(item.state).toMatchObject({ tokenHash, callback: { output: { ok: 1 } } });
    // The job also carries the woken item's lease time (`dueAt`: a claim hint, see `Job`).
    expect(dispatched.at(-1)).toEqual({ runId, task: 'job', attempt: 1, dueAt: item.dueAt });
    expect(await completeByCallback(deps, token, { output: 2 }, { settleMs: 100 })).toMatchObject({
      kind: 'conflict',
      code: 'already_completed',
    });
    expect((await deps.db.get<any>(key)).state.callback.output).toEqual({ ok: 1 });
  });

  it('concurrent reports for one attempt: exactly one is recorded', async () => {
    const { runId, key } = await task({ status: 'waiting', wake: 'resume' });
    const { token, tokenHash } = mintCallbackToken(runId, 'job', 1);
    await deps.db.update(key, { set: { state: { mode: 'async', tokenHash } } });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => completeByCallback(deps, token, { output: i }, { settleMs: 500 })),
    );
    expect(answers.filter((a) => a.kind === 'accepted')).toHaveLength(1);
    expect(answers.filter((a) => a.kind !== 'accepted').every((a) => a.kind === 'conflict' || a.kind === 'not_ready')).toBe(true);
  });

  it('a report that overtakes the suspension waits for it, then is recorded', async () => {
    const { runId, key } = await task({ status: 'running', owner: 'w1' });
    const { token, tokenHash } = mintCallbackToken(runId, 'job', 1);
    const pending = completeByCallback(deps, token, { error: { message: 'bad input', reason: 'bad_input' } }, { settleMs: 5_000 });
    await new Promise((r) => setTimeout(r, 150));
    // The worker records the suspension (as finishAttempt 'suspend' does).
    await deps.db.update(key, { set: { status: 'waiting', wake: 'resume', state: { mode: 'async', tokenHash } }, remove: ['owner'] });
    expect(await pending).toMatchObject({ kind: 'accepted' });
    expect((await deps.db.get<any>(key)).state.callback.error).toEqual({ message: 'bad input', reason: 'bad_input' });
  });

  it('an attempt that never settles: not ready (the API answers 503 with Retry-After)', async () => {
    const { runId } = await task({ status: 'running' });
    const { token } = mintCallbackToken(runId, 'job', 1);
    expect(await completeByCallback(deps, token, { output: 1 }, { settleMs: 150 })).toEqual({ kind: 'not_ready' });
    const res = await h.app.request(`/callbacks/${token}`, {
      method: 'POST',
      body: '{"output":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('wrong secret → forbidden; unknown run or future attempt → not found; older attempt → stale; finished → not waiting', async () => {
    const { runId, key } = await task({ status: 'waiting', wake: 'resume' });
    const { token, tokenHash } = mintCallbackToken(runId, 'job', 1);
    await deps.db.update(key, { set: { state: { mode: 'async', tokenHash } } });
    expect(await completeByCallback(deps, mintCallbackToken(runId, 'job', 1).token, { output: 1 })).toEqual({ kind: 'forbidden' });
    expect(await completeByCallback(deps, mintCallbackToken('rnope', 'job', 1).token, { output: 1 })).toEqual({ kind: 'not_found' });
    expect(await completeByCallback(deps, mintCallbackToken(runId, 'job', 2).token, { output: 1 })).toEqual({ kind: 'not_found' });
    await deps.db.update(key, { set: { attempt: 2 } });
    expect(await completeByCallback(deps, token, { output: 1 })).toMatchObject({ kind: 'conflict', code: 'stale_attempt' });
    await deps.db.update(key, { set: { attempt: 1, status: 'succeeded' }, remove: ['state', 'wake'] });
    expect(await completeByCallback(deps, token, { output: 1 })).toMatchObject({ kind: 'conflict', code: 'not_waiting' });
  });

  it('the API checks the body and the output size', async () => {
    const { token } = mintCallbackToken('rx', 'job', 1);
    const post = (body: string) =>
      h.app.request(`/callbacks/${token}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await post('not json')).status).toBe(400);
    expect((await post('{}')).status).toBe(400);
    expect((await post('{"output":1,"error":{"message":"x"}}')).status).toBe(400);
    expect((await post('{"error":{"reason":"x"}}')).status).toBe(400);
    expect((await post(JSON.stringify({ output: 'x'.repeat(300 * 1024) }))).status).toBe(413);
    expect((await post('{"output":null}')).status).toBe(404);
  });
});
