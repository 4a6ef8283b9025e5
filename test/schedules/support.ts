import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { RuntimeOptions } from '../../functions/local/runtime.js';
import { attachHarness, type Harness, retentionFor, startHarness } from '../support/harness.js';

/** A clock the test moves by hand (deps.now); never real waiting for minutes. */
export class Clock {
  constructor(public t: number) {}
  readonly now = () => this.t;
  set(iso: string | number) {
    this.t = typeof iso === 'number' ? iso : Date.parse(iso);
  }
  advance(ms: number) {
    this.t += ms;
  }
}

export const NO_ROLES = { master: false, worker: false, sweeper: false, scheduler: false } as const;

/** A harness whose engine uses `clock`; by default nothing runs in the background (tests tick by hand). */
export async function clockHarness(clock: Clock, opts: RuntimeOptions = {}, env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({ ...retentionFor(clock.t), ...env }, { roles: NO_ROLES, ...opts, deps: { now: clock.now, ...opts.deps } });
}

/**
 * A fresh table with a first item in it, then an engine over it. DynamoDB Local can answer a stream
 * poller that took its iterator on a still-empty table with TrimmedDataAccessException forever after
 * the first write (aws/aws-sdk-java#2923), which leaves only the sweeper's backstops running; starting
 * the poller after the first write avoids that in tests that need the stream.
 */
export async function engineHarness(opts: RuntimeOptions = {}, env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness(env, { roles: NO_ROLES });
  await putWorkflow(h, { name: 'first-item', tasks: { t: { type: 'noop' } } });
  await h.stop();
  return attachHarness(h.config, opts);
}

export async function ok(h: Harness, method: string, path: string, body?: unknown, status?: number, headers?: Record<string, string>) {
  const r = await h.request(method, path, body, headers);
  if (status !== undefined) expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
  else expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  return r.body;
}

export async function putWorkflow(h: Harness, def: Record<string, unknown>) {
  return ok(h, 'PUT', `/workflows/${def.name}`, def);
}

/** Every run of a workflow (oldest first), with its trigger. */
export async function runsOf(h: Harness, workflow: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | undefined;
  do {
    const r = await ok(h, 'GET', `/workflows/${workflow}/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...r.runs);
    cursor = r.cursor;
  } while (cursor);
  return out.reverse();
}

export const fireTimesOf = (runs: any[]) => runs.map((r) => r.trigger?.fireTime as string).sort();

export { until } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs a script in a separate Node process with tsx's loader (`node --import tsx`, as the crash tests'
 * `CRASH_ENTRY=tsx` does: `npx` would first spend a second or more resolving tsx); resolves with how it
 * ended.
 */
export function runScript(
  script: string,
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path], {
      cwd: ROOT,
      env: { ...process.env, BATON_LOG_LEVEL: 'warn', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${script} did not end within ${timeoutMs} ms:\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}
