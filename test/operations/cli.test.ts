import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { type Harness, startHarness } from '../support/harness.js';
import { runWhen, task } from './support.js';

const exec = promisify(execFile);

describe('baton runs/tasks operations from the command line', () => {
  let h: Harness;
  let server: ServerType;
  let api: string;
  beforeAll(async () => {
    h = await startHarness();
    const port = await freePort();
    server = serve({ fetch: h.app.fetch, port, hostname: '127.0.0.1' });
    api = `http://127.0.0.1:${port}`;
    await h.request('PUT', '/workflows/cli-ops', {
      name: 'cli-ops',
      tasks: { nap: { type: 'wait', duration: '1h' }, done: { type: 'noop', after: ['nap'], output: '${tasks.nap.output.x}' } },
    });
  });
  afterAll(async () => {
    server.close();
    await h.stop();
  });

  const baton = async (...args: string[]) => {
    try {
      const r = await exec('node', ['bin/baton.mjs', ...args], { env: { ...process.env, BATON_API_URL: api, BATON_LOG_LEVEL: 'silent' } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('pauses, resumes, marks a task succeeded, refuses a recover of a succeeded run, reruns', async () => {
    const runId = (await h.request('POST', '/workflows/cli-ops/runs', {})).body.runId as string;
    await runWhen(h, runId, 'the wait', (r) => task(r, 'nap').status === 'waiting');
    expect(JSON.parse((await baton('runs', 'pause', runId)).stdout).status).toBe('paused');
    expect(JSON.parse((await baton('runs', 'resume', runId)).stdout).status).toBe('running');
    const marked = await baton('tasks', 'complete', runId, 'nap', '--output', '{"x":7}');
    expect(JSON.parse(marked.stdout)).toMatchObject({ status: 'succeeded', output: { x: 7 } });
    expect((await h.waitForRun(runId)).output).toEqual({ done: 7 });
    const refused = await baton('runs', 'recover', runId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('409');
    const again = JSON.parse((await baton('runs', 'rerun', runId)).stdout);
    expect(again.runId).not.toBe(runId);
    expect((await baton('tasks', 'complete', runId, 'nap', '--output', '{bad')).code).not.toBe(0);
  }, 300_000);

  // Each `baton` is a process of its own (TypeScript through tsx): few of them, and room for a loaded machine.
  it('lists, pauses and resumes a schedule; starts, shows and cancels a backfill; cancels a run', async () => {
    expect((await h.request('PUT', '/workflows/cli-ops/schedules/yearly', { cron: '0 0 1 1 *' })).status).toBe(201);
    expect(JSON.stringify(JSON.parse((await baton('schedules', 'list', 'cli-ops')).stdout))).toContain('yearly');
    expect(JSON.parse((await baton('schedules', 'pause', 'cli-ops', 'yearly')).stdout)).toMatchObject({ enabled: false });
    expect(JSON.parse((await baton('schedules', 'resume', 'cli-ops', 'yearly')).stdout)).toMatchObject({ enabled: true });

    // Serial: the first run waits an hour, so the backfill is still running when it is cancelled.
    const range = ['--start', '2025-01-01T00:00:00Z', '--end', '2025-01-03T00:00:00Z', '--body', '{"cron":"0 0 * * *"}'];
    const created = JSON.parse((await baton('backfills', 'start', 'cli-ops', ...range)).stdout);
    expect(created).toMatchObject({ status: 'running', progress: { total: 3 } });
    expect(JSON.parse((await baton('backfills', 'get', created.backfillId)).stdout).backfillId).toBe(created.backfillId);
    expect(JSON.parse((await baton('backfills', 'cancel', created.backfillId)).stdout).status).toBe('cancelled');

    const runId = (await h.request('POST', '/workflows/cli-ops/runs', {})).body.runId as string;
    expect(JSON.parse((await baton('runs', 'cancel', runId)).stdout).status).toBe('cancelled');
    expect((await h.waitForRun(runId)).status).toBe('cancelled');
  }, 300_000);

  it('help names BATON_API_URL and describes every subcommand', async () => {
    expect((await baton('--help')).stdout).toContain('BATON_API_URL');
    for (const [group, subs] of [
      ['runs', ['pause', 'resume', 'recover', 'rerun', 'cancel']],
      ['tasks', ['complete']],
      ['schedules', ['list', 'get', 'pause', 'resume']],
      ['backfills', ['start', 'get', 'cancel']],
    ] as const) {
      const help = (await baton(group, '--help')).stdout;
      for (const s of subs) expect(help).toMatch(new RegExp(`\\n\\s+${s} [^\\n]*\\S\\s{2,}\\S`));
    }
  });
});
