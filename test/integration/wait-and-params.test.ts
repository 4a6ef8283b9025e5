import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { sleep } from '../support/wait.js';

const task = (run: any, name: string) => run.tasks.find((x: any) => x.name === name);

describe('wait tasks and parameter / output passing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it('a wait task suspends durably (status waiting, wakeAt) and completes after its duration', async () => {
    const put = await h.request('PUT', '/workflows/waits', {
      name: 'waits',
      tasks: {
        before: { type: 'noop' },
        pause: { type: 'wait', duration: '2s', after: ['before'] },
        after: { type: 'noop', after: ['pause'] },
      },
    });
    expect(put.status).toBe(201);
    const start = await h.request('POST', '/workflows/waits/runs', {});
    const runId = start.body.runId;

    // Observe the waiting state through the API.
    let waiting: any;
    const until = Date.now() + 10_000;
    while (!waiting && Date.now() < until) {
      const r = await h.request('GET', `/runs/${runId}`);
      const p = task(r.body, 'pause');
      if (p.status === 'waiting') waiting = { run: r.body, pause: p, seenAt: Date.now() };
      else await sleep(50);
    }
    expect(waiting, 'never saw the wait task waiting').toBeDefined();
    expect(waiting.run.status).toBe('running');
    expect(waiting.pause.wakeAt).toEqual(expect.any(String));
    const wakeAt = Date.parse(waiting.pause.wakeAt);
    const startedAt = Date.parse(waiting.pause.startedAt);
    expect(wakeAt - startedAt).toBeGreaterThanOrEqual(1990);
    expect(wakeAt - startedAt).toBeLessThanOrEqual(2010);
    expect(task(waiting.run, 'after').status).toBe('blocked');
    // Nothing is running while it waits: no lease is held, no attempt recorded yet.
    expect(waiting.pause.attempts).toEqual([]);

    const run = await h.waitForRun(runId, 15_000);
    expect(run.status).toBe('succeeded');
    const p = task(run, 'pause');
    expect(p.status).toBe('succeeded');
    expect(p.attempt).toBe(1);
    expect(p.wakeAt).toBeUndefined();
    expect(Date.parse(p.endedAt) - Date.parse(p.startedAt)).toBeGreaterThanOrEqual(2000);
    // Precision: woken soon after its due time (the in-process timer; generous for loaded CI machines).
    expect(Date.parse(p.endedAt) - wakeAt).toBeLessThan(3000);
    expect(p.output).toEqual({ waitedUntil: new Date(wakeAt).toISOString() });
    expect(Date.parse(task(run, 'after').startedAt)).toBeGreaterThanOrEqual(Date.parse(p.endedAt));
  });

  it('a wait longer than its timeout fails with reason timeout at the deadline, and is retried', async () => {
    const put = await h.request('PUT', '/workflows/wait-timeout', {
      name: 'wait-timeout',
      tasks: { w: { type: 'wait', duration: '5s', timeout: '1s', retry: { attempts: 2, delay: '100ms' } } },
    });
    expect(put.status).toBe(201);
    const start = await h.request('POST', '/workflows/wait-timeout/runs', {});
    const run = await h.waitForRun(start.body.runId, 15_000);
    expect(run.status).toBe('failed');
    expect(run.failure).toMatchObject({ task: 'w', reason: 'timeout' });
    const w = task(run, 'w');
    expect(w.attempts.map((a: any) => [a.attempt, a.status, a.error?.reason])).toEqual([
      [1, 'failed', 'timeout'],
      [2, 'failed', 'timeout'],
    ]);
    for (const a of w.attempts) {
      const took = Date.parse(a.endedAt) - Date.parse(a.startedAt);
      expect(took).toBeGreaterThanOrEqual(1000);
    }
    // Each attempt is claimed twice (start, then resume at its deadline), not spun on until the wait is over.
    expect(w.attempts[1].fence).toBeLessThanOrEqual(4);
  });

  it('a templated wait duration comes from a param', async () => {
    const put = await h.request('PUT', '/workflows/wait-param', {
      name: 'wait-param',
      params: { d: { type: 'string', default: '1s' } },
      tasks: { pause: { type: 'wait', duration: '${params.d}' } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', '/workflows/wait-param/runs', { params: { d: '2500ms' } });
    const run = await h.waitForRun(start.body.runId);
    expect(run.status).toBe('succeeded');
    const p = task(run, 'pause');
    const took = Date.parse(p.endedAt) - Date.parse(p.startedAt);
    // At least the param's 2.5 s, so not the 1 s default (no upper bound: a loaded machine is slow, not wrong).
    expect(took).toBeGreaterThanOrEqual(2500);
  });

  it('passes params and upstream outputs, applies defaults and preserves types', async () => {
    const def = {
      name: 'passing',
      params: {
        who: { type: 'string', required: true },
        n: { type: 'integer', default: 5 },
        ratio: { type: 'number', default: 0.25 },
        flag: { type: 'boolean', default: true },
        obj: { type: 'object', default: { k: 'v', deep: { list: [1, 2] } } },
        list: { type: 'array', default: ['x', 'y'] },
        opt: { type: 'string' },
      },
      tasks: {
        a: {
          type: 'noop',
          output: {
            who: '${params.who}',
            n: '${params.n}',
            ratio: '${params.ratio}',
            flag: '${params.flag}',
            obj: '${params.obj}',
            list: '${params.list}',
            second: '${params.list[1]}',
            deep: '${params.obj.deep.list[0]}',
            mixed: 'n=${params.n} flag=${params.flag} obj=${params.obj}',
            literal: 'cost: $${params.n}',
            meta: '${run.workflow}/${task.name}#${task.attempt}',
          },
        },
        b: {
          type: 'noop',
          after: ['a'],
          output: { n: '${tasks.a.output.n}', obj: '${tasks.a.output.obj}', k: '${tasks.a.output.obj.k}', who: 'hi ${tasks.a.output.who}' },
        },
        c: {
          type: 'noop',
          after: ['b'],
          // Through b, a is upstream of c too.
          output: { fromA: '${tasks.a.output.deep}', fromB: '${tasks.b.output.k}', whole: '${tasks.b.output}' },
        },
      },
    };
    const put = await h.request('PUT', '/workflows/passing', def);
    expect(put.status, JSON.stringify(put.body)).toBe(201);

    // Given: who and n (overriding the default); defaulted: the rest; opt: absent.
    const start = await h.request('POST', '/workflows/passing/runs', { params: { who: 'Ada', n: 7 } });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const run = await h.waitForRun(start.body.runId);
    expect(run.status, JSON.stringify(run.failure)).toBe('succeeded');
    expect(run.params).toEqual({
      who: 'Ada',
      n: 7,
      ratio: 0.25,
      flag: true,
      obj: { k: 'v', deep: { list: [1, 2] } },
      list: ['x', 'y'],
    });
    // An object interpolated into a longer string is JSON; its key order is whatever DynamoDB stored.
    const mixed = task(run, 'a').output.mixed as string;
    expect(mixed.startsWith('n=7 flag=true obj=')).toBe(true);
    expect(JSON.parse(mixed.slice('n=7 flag=true obj='.length))).toEqual({ k: 'v', deep: { list: [1, 2] } });
    expect(task(run, 'a').output).toEqual({
      who: 'Ada',
      n: 7,
      ratio: 0.25,
      flag: true,
      obj: { k: 'v', deep: { list: [1, 2] } },
      list: ['x', 'y'],
      second: 'y',
      deep: 1,
      mixed,
      literal: 'cost: ${params.n}',
      meta: 'passing/a#1',
    });
    expect(task(run, 'b').output).toEqual({ n: 7, obj: { k: 'v', deep: { list: [1, 2] } }, k: 'v', who: 'hi Ada' });
    expect(task(run, 'c').output).toEqual({ fromA: 1, fromB: 'v', whole: task(run, 'b').output });
    expect(run.output).toEqual({ c: task(run, 'c').output });
  });

  it('a template whose value is missing at run time fails the task with reason template, not retried', async () => {
    const put = await h.request('PUT', '/workflows/missing-value', {
      name: 'missing-value',
      params: { opt: { type: 'object' } },
      tasks: { a: { type: 'noop', output: '${params.opt.x}', retry: { attempts: 3, delay: '100ms' } } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const start = await h.request('POST', '/workflows/missing-value/runs', { params: { opt: { y: 1 } } });
    const run = await h.waitForRun(start.body.runId);
    expect(run.status).toBe('failed');
    expect(run.failure).toMatchObject({ task: 'a', reason: 'template' });
    expect(run.failure.message).toContain('${params.opt.x}');
    expect(task(run, 'a').attempts).toHaveLength(1);
  });

  it('a run pins the params it was given: later definition changes do not alter them', async () => {
    const put = await h.request('PUT', '/workflows/pinned-params', {
      name: 'pinned-params',
      params: { n: { type: 'integer', default: 1 } },
      tasks: { a: { type: 'wait', duration: '1s' }, b: { type: 'noop', after: ['a'], output: '${params.n}' } },
    });
    expect(put.status).toBe(201);
    const start = await h.request('POST', '/workflows/pinned-params/runs', {});
    const put2 = await h.request('PUT', '/workflows/pinned-params', {
      name: 'pinned-params',
      params: { n: { type: 'integer', default: 2 } },
      tasks: { a: { type: 'noop' }, b: { type: 'noop', after: ['a'], output: { changed: '${params.n}' } } },
    });
    expect(put2.body.version).toBe(2);
    const run = await h.waitForRun(start.body.runId);
    expect(run.version).toBe(1);
    expect(run.params).toEqual({ n: 1 });
    expect(task(run, 'a').type).toBe('wait');
    expect(task(run, 'b').output).toBe(1);
  });
});
