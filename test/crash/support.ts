import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createApp } from '../../functions/api/app.js';
import { type BatonConfig, loadConfig } from '../../functions/common/config.js';
import { log } from '../../functions/common/logger.js';
import { freePort } from '../../functions/local/dynamodb-local.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';
import { TERMINAL_RUN } from '../../functions/store/items.js';
import { ensureTable } from '../../functions/store/table.js';
import { lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import { executors } from '../../functions/tasks/registry.js';
import { sleep, until } from '../support/wait.js';

/**
 * Support for crash tests with real OS processes: each Baton process runs
 * `functions/local/process-main.ts` (bundled once with esbuild so that a restart costs ~0.3 s instead
 * of ~1 s of tsx compilation; `CRASH_ENTRY=tsx` runs the TypeScript through tsx instead) against the
 * suite's DynamoDB Local, on a fresh table.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const ENTRY = join(ROOT, 'functions/local/process-main.ts');

let entryCommand: Promise<string[]> | undefined;

/** The command that starts one Baton process (without its arguments). */
export function entry(): Promise<string[]> {
  entryCommand ??= (async () => {
    if (process.env.CRASH_ENTRY === 'tsx') return [process.execPath, '--import', 'tsx', ENTRY];
    const { build } = await import('esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'baton-crash-bundle-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'process-main.mjs');
    await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: out,
      logLevel: 'warning',
      banner: { js: "import { createRequire as __batonRequire } from 'node:module'; const require = __batonRequire(import.meta.url);" },
    });
    return [process.execPath, out];
  })();
  return entryCommand;
}

/** Points this test process at the suite's DynamoDB Local and makes a fresh table. */
export async function freshTable(prefix = 'crash'): Promise<{ endpoint: string; table: string }> {
  const endpoint = inject('dynamoEndpoint');
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  const table = `${prefix}${randomBytes(5).toString('hex')}`;
  await ensureTable(dynamoClient(), table);
  return { endpoint, table };
}

/** Deps for the test process itself: it only submits runs and reads the table; it dispatches nothing. */
export function testDeps(config: BatonConfig): Deps {
  return {
    db: new Db(documentClient(dynamoClient()), config),
    dispatch: async () => {},
    timer: async () => {},
    executors,
    aws: lazyAwsClients(),
    now: Date.now,
    log,
    workerId: 'test',
  };
}

export interface Api {
  readonly deps: Deps;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  put(def: Record<string, unknown>): Promise<void>;
  start(workflow: string, params?: unknown): Promise<string>;
}

export function api(config: BatonConfig): Api {
  const deps = testDeps(config);
  const app = createApp(deps);
  const request: Api['request'] = async (method, path, body) => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    deps,
    request,
    async put(def) {
      const r = await request('PUT', `/workflows/${def.name}`, def);
      if (r.status !== 201 && r.status !== 200) throw new Error(`PUT ${def.name}: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async start(workflow, params) {
      const r = await request('POST', `/workflows/${workflow}/runs`, params === undefined ? {} : { params });
      if (r.status !== 201) throw new Error(`start ${workflow}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.runId as string;
    },
  };
}

// ---- processes --------------------------------------------------------------------------------

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

export interface Ready {
  readonly pid: number;
  readonly workerId: string;
  readonly workerUrl?: string;
}

/** One spawned OS process: a live incarnation of a slot, or a warm spare waiting for SIGUSR2. */
interface Spawned {
  readonly child: ChildProcess;
  readonly envKey: string;
  readonly exit: Promise<Exit>;
  /** Resolves once the spare logged `process standby`. */
  readonly standby: Promise<boolean>;
  ready?: (r: Ready) => void;
  fail?: (e: Error) => void;
}

/**
 * One Baton OS process slot: started, killed and restarted under the same name (and worker port).
 * With `spare(env)`, a warm spare for the next start is loaded in the background; `start` with the
 * same environment then only has to wake it (like a warm Lambda container), so a restart is quick.
 */
export class Proc {
  child: ChildProcess | undefined;
  ready: Ready | undefined;
  exit: Promise<Exit> = Promise.resolve({ code: null, signal: null, at: 0 });
  incarnation = 0;
  /** How long each start took until `process ready` (ms), and whether a spare served it. */
  readonly startups: { ms: number; warm: boolean }[] = [];
  private readonly out: WriteStream;
  private readonly listeners = new Set<(line: string) => void>();
  private readonly exitListeners = new Set<(pid: number, exit: Exit) => void>();
  private spareProc: Spawned | undefined;

  constructor(
    readonly name: string,
    readonly roles: string,
    readonly port: number | undefined,
    private readonly cluster: Cluster,
  ) {
    this.out = createWriteStream(join(cluster.dir, `${name}.log`), { flags: 'a' });
  }

  get url(): string | undefined {
    return this.port === undefined ? undefined : `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async spawn(env: Record<string, string>, standby: boolean): Promise<Spawned> {
    const cmd = await entry();
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && !k.startsWith('BATON_')) childEnv[k] = v;
    }
    Object.assign(childEnv, this.cluster.env, {
      BATON_ROLES: this.roles,
      BATON_WORKER_PORT: String(this.port ?? 0),
      BATON_WORKER_URLS: this.cluster.workerUrls().join(','),
      BATON_LOG_LEVEL: 'info',
      AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1',
      ...env,
      ...(standby ? { BATON_STANDBY: '1' } : {}),
    });
    const child = spawn(cmd[0] as string, cmd.slice(1), { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<Exit>((ok) =>
      child.once('exit', (code, signal) => {
        const e = { code, signal, at: Date.now() };
        ok(e);
        if (child === this.child) for (const l of this.exitListeners) l(child.pid as number, e);
      }),
    );
    let onStandby: (ok: boolean) => void = () => {};
    const s: Spawned = { child, envKey: JSON.stringify(env), exit, standby: new Promise<boolean>((ok) => (onStandby = ok)) };
    void exit.then((e) => {
      onStandby(false);
      s.fail?.(new Error(`${this.name} exited before it was ready (${e.code ?? e.signal})`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.includes('"process standby"')) return onStandby(true);
      this.out.write(`${line}\n`);
      if (line.includes('"process ready"')) {
        const j = JSON.parse(line);
        s.ready?.({ pid: j.pid, workerId: j.workerId, workerUrl: j.workerUrl });
      }
      for (const l of this.listeners) l(line);
    });
    child.stderr?.on('data', (d) => {
      if (!String(d).includes('NodeVersionSupportWarning') && !String(d).includes('node >=22')) this.out.write(d);
    });
    return s;
  }

  /** Loads a warm spare for the next `start(env)` (replacing an older spare). */
  async spare(env: Record<string, string>): Promise<void> {
    this.dropSpare();
    this.spareProc = await this.spawn(env, true);
  }

  dropSpare(): void {
    this.spareProc?.child.kill('SIGKILL');
    this.spareProc = undefined;
  }

  /** Starts the process (waking a matching spare if one is loaded); resolves once it logged `process ready`. */
  async start(env: Record<string, string> = {}): Promise<Ready> {
    if (this.alive) throw new Error(`${this.name} is already running`);
    const began = Date.now();
    this.incarnation++;
    this.ready = undefined;
    const spare = this.spareProc;
    this.spareProc = undefined;
    let s: Spawned;
    let warm = false;
    if (spare && spare.envKey === JSON.stringify(env) && spare.child.exitCode === null && (await spare.standby)) {
      s = spare;
      warm = true;
    } else {
      spare?.child.kill('SIGKILL');
      s = await this.spawn(env, false);
    }
    const ready = new Promise<Ready>((ok, fail) => {
      s.ready = (r) => {
        this.ready = r;
        this.startups.push({ ms: Date.now() - began, warm });
        ok(r);
      };
      s.fail = fail;
    });
    ready.catch(() => {});
    this.child = s.child;
    this.exit = s.exit;
    if (warm) s.child.kill('SIGUSR2');
    return ready;
  }

  /** Called on every exit of this slot's live process, whichever incarnation (not of spares). */
  whenExited(fn: (pid: number, exit: Exit) => void): void {
    this.exitListeners.add(fn);
  }

  onLine(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.child?.kill(sig);
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exit;
  }

  /** SIGTERM (graceful), falling back to SIGKILL; drops the spare. */
  async stop(): Promise<void> {
    this.dropSpare();
    if (!this.alive) return;
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), 3000);
    await this.exit;
    clearTimeout(t);
  }
}

/** A set of Baton processes over one table. Worker ports are fixed per slot, so restarts keep the URLs valid. */
export class Cluster {
  readonly procs = new Map<string, Proc>();
  readonly dir: string;

  constructor(
    readonly table: string,
    readonly env: Record<string, string>,
    dir?: string,
  ) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'baton-crash-'));
    mkdirSync(this.dir, { recursive: true });
  }

  /** Adds a process slot; `worker` roles get a fixed loopback port. */
  async add(name: string, roles: string): Promise<Proc> {
    const port = roles.split(',').includes('worker') ? await freePort() : undefined;
    const p = new Proc(name, roles, port, this);
    this.procs.set(name, p);
    return p;
  }

  get(name: string): Proc {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  workerUrls(): string[] {
    return [...this.procs.values()].flatMap((p) => (p.url ? [p.url] : []));
  }

  /** Set when a test fails (or with CRASH_KEEP=1): the logs directory is kept and its path printed. */
  keep = process.env.CRASH_KEEP === '1';

  /** Stops every process; removes the logs directory unless `keep`. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop()));
    if (this.keep) console.log(`crash test logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The common environment of crash-test processes: short leases so that failover happens in seconds. */
export function clusterEnv(endpoint: string, table: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    BATON_TABLE: table,
    BATON_LEASE_MS: '1500',
    BATON_HEARTBEAT_MS: '400',
    BATON_SWEEP_INTERVAL_MS: '300',
    BATON_WATCHDOG_MS: '3000',
    BATON_RECHECK_MS: '3000',
    BATON_POLL_IDLE_MS: '20',
    BATON_DISPATCH_TIMEOUT_MS: '2000',
    ...over,
  };
}

export function configFor(table: string, env: Record<string, string>): BatonConfig {
  return loadConfig({ ...env, BATON_TABLE: table });
}

// ---- the table -------------------------------------------------------------------------------

export type Item = Record<string, any>;

/** Every item of the table (a scan is fine in a test). */
export async function scanTable(deps: Deps): Promise<Item[]> {
  const out: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await deps.db.doc.send(new ScanCommand({ TableName: deps.db.table, ConsistentRead: true, ExclusiveStartKey: start }));
    out.push(...((r.Items ?? []) as Item[]));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/** The run statuses that end a run: the store's own list, so a skipped run is not waited for forever. */
export const TERMINAL = TERMINAL_RUN;

export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> =>
  until(what, fn, timeoutMs, everyMs);

export { sleep };

export interface InvariantReport {
  readonly violations: string[];
  readonly runs: number;
  readonly childRuns: number;
  readonly links: number;
  readonly tasks: number;
  readonly attemptRecords: number;
  readonly lostRecords: number;
  readonly checks: Record<string, number>;
}

/**
 * The failover invariants, checked on a scan of the whole table:
 * - exactly one child per (parent run, task, attempt): linkage items and child runs (by their `parent`
 *   field) agree one to one, and no child run exists without its linkage;
 * - no attempt completed by two holders: per (task, attempt) at most one succeeded/failed record;
 * - no task succeeded twice; each lease (fencing token) ended at most once (one reclaim, or one outcome);
 * - every run is terminal (when `allTerminal`);
 * - a parent task's attempt ended as its child did (succeeded ↔ succeeded, with the child's output).
 */
export function checkInvariants(items: Item[], opts: { allTerminal?: boolean } = {}): InvariantReport {
  const v: string[] = [];
  const checks: Record<string, number> = {};
  const count = (k: string) => {
    checks[k] = (checks[k] ?? 0) + 1;
  };
  const runs = new Map<string, Item>();
  const tasks = new Map<string, Item>();
  const links = new Map<string, Item>();
  for (const it of items) {
    if (it.kind === 'run') runs.set(it.runId, it);
    else if (it.kind === 'task') tasks.set(`${it.runId}/${it.name}`, it);
    else if (it.kind === 'child') links.set(`${it.parentRunId}/${it.task}/${it.attempt}`, it);
  }
  const childrenByAttempt = new Map<string, Item[]>();
  let childRuns = 0;
  for (const r of runs.values()) {
    count('run terminal');
    if (opts.allTerminal && !TERMINAL.has(r.status)) v.push(`run ${r.runId} (${r.workflow}) is ${r.status}, not terminal`);
    if (!r.parent) continue;
    childRuns++;
    const k = `${r.parent.runId}/${r.parent.task}/${r.parent.attempt}`;
    const list = childrenByAttempt.get(k);
    if (list) list.push(r);
    else childrenByAttempt.set(k, [r]);
  }
  for (const [k, cs] of childrenByAttempt) {
    count('one child per attempt');
    const ids = (list: Item[]) =>
      `${list
        .slice(0, 5)
        .map((c) => c.runId)
        .join(', ')}${list.length > 5 ? ', ...' : ''}`;
    if (cs.length !== 1) v.push(`${cs.length} child runs for ${k}: ${ids(cs)}`);
    const link = links.get(k);
    count('child has linkage');
    if (!link) v.push(`child run(s) ${ids(cs)} of ${k} without a linkage item`);
    else if (!cs.some((c) => c.runId === link.childRunId))
      v.push(`linkage ${k} names ${link.childRunId}, but the child is ${cs[0]?.runId}`);
  }
  for (const [k, link] of links) {
    count('linkage has child');
    if (!childrenByAttempt.has(k)) {
      // Only acceptable if that parent attempt ended without ever creating its child (lost, timed out, run over).
      const t = tasks.get(`${link.parentRunId}/${link.task}`);
      const rec = (t?.attempts ?? []).find((a: Item) => a.attempt === link.attempt && a.status !== 'lost');
      const parent = runs.get(link.parentRunId);
      const over =
        rec?.error?.reason === 'lost' ||
        rec?.error?.reason === 'timeout' ||
        (parent && TERMINAL.has(parent.status) && t?.status !== 'succeeded');
      if (!over) v.push(`linkage ${k} names ${link.childRunId}, which does not exist`);
    }
  }
  let attemptRecords = 0;
  let lostRecords = 0;
  for (const [k, t] of tasks) {
    const done = new Map<number, number>();
    let succeeded = 0;
    for (const a of (t.attempts ?? []) as Item[]) {
      attemptRecords++;
      if (a.status === 'lost') {
        lostRecords++;
        continue;
      }
      done.set(a.attempt, (done.get(a.attempt) ?? 0) + 1);
      if (a.status === 'succeeded') succeeded++;
    }
    const byFence = new Map<number, number>();
    for (const a of (t.attempts ?? []) as Item[]) if (a.fence !== undefined) byFence.set(a.fence, (byFence.get(a.fence) ?? 0) + 1);
    count('each lease (fence) ended once');
    for (const [f, c] of byFence) if (c > 1) v.push(`task ${k}: the lease with fence ${f} ended ${c} times`);
    count('attempt completed once');
    for (const [n, c] of done) if (c > 1) v.push(`task ${k} attempt ${n} completed by ${c} holders`);
    count('task succeeded at most once');
    if (succeeded > 1) v.push(`task ${k} succeeded ${succeeded} times`);
    if (t.status === 'succeeded' && succeeded !== 1) v.push(`task ${k} is succeeded with ${succeeded} succeeded attempt records`);
  }
  // Parents complete from their children.
  for (const [k, cs] of childrenByAttempt) {
    const child = cs[0] as Item;
    const [runId, task, attempt] = [child.parent.runId, child.parent.task, Number(child.parent.attempt)];
    const t = tasks.get(`${runId}/${task}`);
    const parentRun = runs.get(runId);
    if (!t) {
      v.push(`child ${child.runId} names parent task ${k}, which does not exist`);
      continue;
    }
    const rec = ((t.attempts ?? []) as Item[]).find((a) => a.attempt === attempt && a.status !== 'lost');
    if (!rec) {
      // The parent attempt is not over: only acceptable while things still run.
      if (opts.allTerminal && parentRun && !TERMINAL.has(parentRun.status))
        v.push(`parent ${k} has no outcome for its ${child.status} child`);
      continue;
    }
    count('parent outcome matches child');
    if (rec.error?.reason === 'lost' || rec.error?.reason === 'timeout') continue;
    if (child.status === 'succeeded') {
      if (rec.status !== 'succeeded') v.push(`parent ${k} is ${rec.status} (${rec.error?.reason}) but its child ${child.runId} succeeded`);
      else if (t.status === 'succeeded' && t.attempt === attempt && JSON.stringify(t.output) !== JSON.stringify(child.output ?? null)) {
        v.push(`parent ${k} output ${JSON.stringify(t.output)} differs from its child's ${JSON.stringify(child.output)}`);
      }
    } else if (TERMINAL.has(child.status)) {
      if (rec.status !== 'failed' || !String(rec.error?.reason).startsWith('child_'))
        v.push(`parent ${k} is ${rec.status} (${rec.error?.reason}) but its child ${child.runId} ${child.status}`);
    } else {
      v.push(`parent ${k} ended ${rec.status} while its child ${child.runId} is still ${child.status}`);
    }
  }
  return { violations: v, runs: runs.size, childRuns, links: links.size, tasks: tasks.size, attemptRecords, lostRecords, checks };
}

/** Parses JSON log lines of a process log file. */
export function parseLog(text: string): Item[] {
  const out: Item[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
