import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { type Harness, startHarness } from '../support/harness.js';

const exec = promisify(execFile);

describe('the baton CLI', () => {
  let h: Harness;
  let server: ServerType;
  let staged: ServerType;
  let api: string;
  let port: number;
  let stagePort: number;
  const dir = mkdtempSync(join(tmpdir(), 'baton-cli-'));

  beforeAll(async () => {
    h = await startHarness();
    port = await freePort();
    server = serve({ fetch: h.app.fetch, port, hostname: '127.0.0.1' });
    api = `http://127.0.0.1:${port}`;
    // The same API under a stage path, as API Gateway serves it at https://host/prod.
    stagePort = await freePort();
    staged = serve({ fetch: new Hono().route('/prod', h.app).fetch, port: stagePort, hostname: '127.0.0.1' });
  });
  afterAll(async () => {
    server.close();
    staged.close();
    await h.stop();
  });

  const baton = (...args: string[]) => batonAt(api, ...args);
  const batonAt = async (url: string, ...args: string[]) => {
    try {
      const r = await exec('node', ['bin/baton.mjs', '--api', url, ...args], { env: { ...process.env, BATON_LOG_LEVEL: 'silent' } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('stores a YAML workflow, starts a run, waits for it and shows it', async () => {
    const file = join(dir, 'greet.yaml');
    writeFileSync(
      file,
      'name: greet\nparams:\n  n: { type: integer, required: true }\ntasks:\n  a: { type: noop, output: "${params.n}" }\n',
    );
    const put = await baton('workflows', 'put', file);
    expect(put).toMatchObject({ code: 0, stdout: 'greet v1\n' });
    const start = await baton('start', 'greet', '-p', 'n=7', '--wait');
    expect(start.code, start.stderr).toBe(0);
    const runId = start.stdout.split('\n')[0] as string;
    expect(start.stdout).toContain(`run ${runId} succeeded`);
    const shown = await baton('runs', 'get', runId);
    expect(shown.stdout).toMatch(/a\s+succeeded\s+attempt 1/);
    const listed = await baton('runs', 'list', 'greet');
    expect(listed.stdout).toContain(runId);
  });

  it('exits non-zero with one readable line on bad input', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad', tasks: { a: { type: 'nope' } } }));
    const r = await baton('workflows', 'put', bad);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^baton: 400 invalid_definition: .*tasks\.a\.type/);
    const missing = await baton('start', 'greet');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^baton: 400 invalid_params: .*params\.n/);
    const unreachable = await exec('node', ['bin/baton.mjs', '--api', 'http://127.0.0.1:9', 'workflows', 'list']).catch((e) => e);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^baton: unreachable: cannot reach/);
  });

  it('keeps the path of --api and accepts an address without a scheme; says what is wrong with a bad one', async () => {
    const staged = await batonAt(`http://127.0.0.1:${stagePort}/prod/`, 'workflows', 'list');
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout).toContain('greet');
    const bare = await batonAt(`127.0.0.1:${port}`, 'workflows', 'list');
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toContain('greet');
    const bad = await batonAt('ftp://127.0.0.1:21', 'workflows', 'list');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^baton: bad_api_url: .*http/);
  });

  it('never takes a workflow name from a file name', async () => {
    const file = join(dir, 'nameless.yaml');
    writeFileSync(file, 'tasks:\n  a: { type: noop }\n');
    const r = await baton('workflows', 'put', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^baton: no_name: .*--name/);
    expect((await baton('workflows', 'put', file, '--name', 'named')).stdout).toBe('named v1\n');
  });

  it('start --wait ends when the run is skipped by the concurrency policy', async () => {
    const file = join(dir, 'single.json');
    writeFileSync(
      file,
      JSON.stringify({ name: 'single', concurrency: { policy: 'skip' }, tasks: { w: { type: 'wait', duration: '30s' } } }),
    );
    expect((await baton('workflows', 'put', file)).code).toBe(0);
    const first = await baton('start', 'single');
    const busy = first.stdout.trim();
    // The first run holds the one slot once it is running.
    for (let i = 0; i < 200 && (await h.request('GET', `/runs/${busy}`)).body.status !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 50));
    const second = await baton('start', 'single', '--wait');
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/run \S+ skipped/);
    await h.request('POST', `/runs/${busy}/cancel`);
  });
});
