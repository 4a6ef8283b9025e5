import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { type Harness, startHarness } from '../support/harness.js';

const exec = promisify(execFile);

describe('the baton CLI', () => {
  let h: Harness;
  let server: ServerType;
  let api: string;
  const dir = mkdtempSync(join(tmpdir(), 'baton-cli-'));

  beforeAll(async () => {
    h = await startHarness();
    const port = await freePort();
    server = serve({ fetch: h.app.fetch, port, hostname: '127.0.0.1' });
    api = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    server.close();
    await h.stop();
  });

  const baton = async (...args: string[]) => {
    try {
      const r = await exec('node', ['bin/baton.mjs', '--api', api, ...args], { env: { ...process.env, BATON_LOG_LEVEL: 'silent' } });
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
});
