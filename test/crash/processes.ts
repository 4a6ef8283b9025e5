import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../functions/local/dynamodb-local.js';

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
