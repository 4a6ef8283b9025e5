import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

/** Whole runs over DynamoDB Local with `when` conditions and join rules (noop and fail tasks only: no network). */
describe('conditions and join rules', { timeout: 180_000 }, () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ BATON_LEASE_MS: '2000' });
  });
  afterAll(() => h.stop());

  async function run(def: Record<string, unknown>, params?: Record<string, unknown>) {
    const name = def.name as string;
    const put = await h.request('PUT', `/workflows/${name}`, def);
    expect([200, 201], JSON.stringify(put.body)).toContain(put.status); // 200: the same definition again
    const start = await h.request('POST', `/workflows/${name}/runs`, params ? { params } : {});
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const r = await h.waitForRun(start.body.runId, 90_000);
    const task = (n: string) => {
      const t = r.tasks.find((x: any) => x.name === n);
      if (!t) throw new Error(`no task ${n} in ${JSON.stringify(r.tasks.map((x: any) => x.name))}`);
      return t;
    };
    return { r, task };
  }

  it('SWITCH: one branch runs on the upstream output, the others are skipped (condition), the join fires', async () => {
    const def = (kind: string) => ({
      name: `switch-${kind}`,
      params: { region: { type: 'string', default: 'eu' } },
      tasks: {
        check: { type: 'noop', output: { kind } },
        csv: { type: 'noop', after: 'check', when: `tasks.check.output.kind = 'csv'`, output: 'csv' },
        json: { type: 'noop', after: 'check', when: `tasks.check.output.kind = 'json'`, output: 'json' },
        fallback: { type: 'noop', after: 'check', when: `$not(tasks.check.output.kind in ['csv', 'json'])`, output: 'other' },
        afterJson: { type: 'noop', after: 'json' },
        publish: { type: 'noop', after: ['csv', 'json', 'fallback'], trigger: 'none_failed', when: `params.region = 'eu'` },
      },
    });
    const { r, task } = await run(def('csv'));
    expect(r.status).toBe('succeeded');
    expect(task('csv')).toMatchObject({ status: 'succeeded', output: 'csv' });
    for (const n of ['json', 'fallback']) {
      expect(task(n), n).toMatchObject({ status: 'skipped', error: { reason: 'condition' }, attempts: [] });
    }
    // The skipped branch's downstream follows its own (default) rule: skipped, because its upstream was.
    expect(task('afterJson')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(task('publish').status).toBe('succeeded');

    const other = await run(def('xml'));
    expect(other.r.status).toBe('succeeded');
    expect(other.task('fallback')).toMatchObject({ status: 'succeeded', output: 'other' });
    expect(other.task('csv').status).toBe('skipped');
    expect(other.task('publish').status).toBe('succeeded');
  });

  it('a failure branch runs only when its upstream fails; all_done cleanup runs either way', async () => {
    const def = (fails: boolean) => ({
      name: `branch-${fails}`,
      tasks: {
        work: fails ? { type: 'fail', message: 'disk full', retryable: false } : { type: 'noop', output: 1 },
        next: { type: 'noop', after: 'work' },
        notify: { type: 'noop', after: 'work', trigger: 'one_failed', when: `tasks.work.status = 'failed'` },
        page: { type: 'noop', after: 'notify', trigger: 'one_succeeded' }, // a second failure-branch step
        side: { type: 'noop' },
        cleanup: { type: 'noop', after: ['next', 'side'], trigger: 'all_done' },
      },
    });
    const failed = await run(def(true));
    expect(failed.r.status).toBe('failed');
    expect(failed.r.failure).toMatchObject({ task: 'work', reason: 'fail' });
    expect(failed.task('notify').status).toBe('succeeded');
    expect(failed.task('page').status).toBe('succeeded');
    expect(failed.task('next')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    // all_done over a task skipped after the failure: cleanup still runs (failureStrategy end does not stop it).
    expect(failed.task('cleanup').status).toBe('succeeded');

    const ok = await run(def(false));
    expect(ok.r.status).toBe('succeeded');
    expect(ok.task('notify')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(ok.task('notify').error.message).toContain('one_failed');
    expect(ok.task('page')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(ok.task('cleanup').status).toBe('succeeded');
    expect(ok.r.output).toEqual({ cleanup: null }); // the run's output holds its succeeded sinks
  });

  it('upstream_failed propagates: one_failed two levels below a failure fires; all_failed and none_failed follow Airflow', async () => {
    const { r, task } = await run({
      name: 'propagate',
      failureStrategy: 'continue',
      tasks: {
        bad: { type: 'fail', retryable: false },
        good: { type: 'noop' },
        mid: { type: 'noop', after: 'bad' },
        alarm: { type: 'noop', after: 'mid', trigger: 'one_failed' },
        allFailed: { type: 'noop', after: ['bad', 'mid'], trigger: 'all_failed' },
        noneFailed: { type: 'noop', after: ['good', 'mid'], trigger: 'none_failed' },
        oneOk: { type: 'noop', after: ['good', 'mid'], trigger: 'one_succeeded' },
      },
    });
    expect(r.status).toBe('failed');
    expect(task('mid')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(task('alarm').status).toBe('succeeded');
    expect(task('allFailed').status).toBe('succeeded');
    expect(task('noneFailed')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(task('oneOk').status).toBe('succeeded');
  });

  it('a root condition over params; false skips it, and its downstream rules apply', async () => {
    const def = {
      name: 'root-when',
      params: { full: { type: 'boolean', default: false } },
      tasks: {
        full: { type: 'noop', when: 'params.full' },
        report: { type: 'noop', after: 'full', trigger: 'none_failed' },
        strict: { type: 'noop', after: 'full' },
      },
    };
    const off = await run(def);
    expect(off.r.status).toBe('succeeded');
    expect(off.task('full')).toMatchObject({ status: 'skipped', error: { reason: 'condition' } });
    expect(off.task('report').status).toBe('succeeded');
    expect(off.task('strict').status).toBe('skipped');
    const on = await run(def, { full: true });
    expect(on.task('full').status).toBe('succeeded');
    expect(on.task('strict').status).toBe('succeeded');
  });

  it('an expression that fails to evaluate fails the task with reason expression (and the run)', async () => {
    const { r, task } = await run({
      name: 'bad-expression',
      tasks: {
        a: { type: 'noop', output: { n: 'text' } },
        b: { type: 'noop', output: 2 },
        judge: { type: 'noop', after: ['a', 'b'], when: 'tasks.a.output.n + tasks.b.output > 1' },
        after: { type: 'noop', after: 'judge' },
        onError: { type: 'noop', after: 'judge', trigger: 'one_failed' },
      },
    });
    expect(r.status).toBe('failed');
    expect(r.failure).toMatchObject({ task: 'judge', reason: 'expression' });
    expect(task('judge')).toMatchObject({ status: 'failed', error: { reason: 'expression' }, attempts: [] });
    expect(task('judge').error.message).toContain('T2001');
    expect(task('after')).toMatchObject({ status: 'skipped', error: { reason: 'upstream' } });
    expect(task('onError').status).toBe('succeeded');
  });

  it('PUT rejects a bad expression and an unknown rule with their paths, and stores nothing', async () => {
    const put = await h.request('PUT', '/workflows/bad-when', {
      name: 'bad-when',
      tasks: { a: { type: 'noop', when: 'params.x =' }, b: { type: 'noop', after: 'a', trigger: 'sometimes' } },
    });
    expect(put.status).toBe(400);
    expect(JSON.stringify(put.body)).toContain('tasks.a.when');
    expect(JSON.stringify(put.body)).toContain('tasks.b.trigger');
    expect((await h.request('GET', '/workflows/bad-when')).status).toBe(404);
  });
});
