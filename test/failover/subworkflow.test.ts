import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

describe('subworkflow tasks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const put = async (def: Record<string, unknown>) => {
      const r = await h.request('PUT', `/workflows/${def.name}`, def);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    await put({
      name: 'leaf',
      params: { n: { type: 'integer', required: true } },
      tasks: { x: { type: 'noop', output: { doubled: '${params.n}' } } },
    });
    await put({
      name: 'middle',
      params: { n: { type: 'integer', required: true } },
      tasks: {
        call: { type: 'subworkflow', workflow: 'leaf', params: { n: '${params.n}' } },
        after: { type: 'noop', after: ['call'], output: '${tasks.call.output.x.doubled}' },
      },
    });
    await put({
      name: 'top',
      tasks: {
        a: { type: 'subworkflow', workflow: 'middle', params: { n: 1 } },
        b: { type: 'subworkflow', workflow: 'middle', params: { n: 2 } },
        join: { type: 'noop', after: ['a', 'b'], output: { a: '${tasks.a.output.after}', b: '${tasks.b.output.after}' } },
      },
    });
    await put({ name: 'broken', tasks: { boom: { type: 'fail', message: 'kaput' } } });
    await put({ name: 'callsBroken', tasks: { c: { type: 'subworkflow', workflow: 'broken', retry: { attempts: 2, delay: '100ms' } } } });
  });
  afterAll(() => h.stop());

  it('nests three levels and passes outputs up', async () => {
    const start = await h.request('POST', '/workflows/top/runs', {});
    const run = await h.waitForRun(start.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ join: { a: 1, b: 2 } });
    const children = await h.request('GET', `/runs/${run.runId}/children`);
    expect(children.body.children).toHaveLength(2);
    for (const c of children.body.children) {
      const child = await h.request('GET', `/runs/${c.runId}`);
      expect(child.body.parent).toMatchObject({ runId: run.runId, task: c.task, attempt: 1 });
      expect(child.body.trigger).toMatchObject({ type: 'parent', runId: run.runId });
      const grand = await h.request('GET', `/runs/${c.runId}/children`);
      expect(grand.body.children).toHaveLength(1);
    }
  });

  it('fails the parent task from the child, and a retry starts a new child', async () => {
    const start = await h.request('POST', '/workflows/callsBroken/runs', {});
    const run = await h.waitForRun(start.body.runId);
    expect(run.status).toBe('failed');
    expect(run.failure).toMatchObject({ task: 'c', reason: 'child_failed' });
    expect(run.failure.message).toContain('kaput');
    const children = await h.request('GET', `/runs/${run.runId}/children`);
    expect(children.body.children.map((c: any) => c.attempt)).toEqual([1, 2]);
    expect(new Set(children.body.children.map((c: any) => c.runId)).size).toBe(2);
  });

  it('rejects a workflow that would start itself, directly or through others', async () => {
    const direct = await h.request('PUT', '/workflows/selfish', {
      name: 'selfish',
      tasks: { me: { type: 'subworkflow', workflow: 'selfish' } },
    });
    expect(direct.status).toBe(400);
    expect(direct.body.error.details).toEqual([{ path: 'tasks.me.workflow', message: 'workflow selfish would start itself' }]);
    await h.request('PUT', '/workflows/ping', { name: 'ping', tasks: { t: { type: 'noop' } } });
    expect(
      (await h.request('PUT', '/workflows/pong', { name: 'pong', tasks: { t: { type: 'subworkflow', workflow: 'ping' } } })).status,
    ).toBe(201);
    const loop = await h.request('PUT', '/workflows/ping', { name: 'ping', tasks: { t: { type: 'subworkflow', workflow: 'pong' } } });
    expect(loop.status).toBe(400);
    expect(loop.body.error.details[0].message).toContain('ping -> pong -> ping');
  });
});
